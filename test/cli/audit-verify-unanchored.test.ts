import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { archiveAuditLog, planArchive } from '../../src/audit/audit-archive.js';
import { loadCheckpointKey } from '../../src/audit/checkpoint-signer.js';
import { sealHead } from '../../src/audit/seal-repo.js';
import { AUDITOR_SUBJECT, startHarness } from '../support/harness.js';
import { asSuperuser, macKeyOf, verify, verifyWith } from '../support/seal-helpers.js';
import { cli } from '../support/run-cli.js';

// A dab without audit.checkpointKeyFile serves verification; the archive ran elsewhere (dab audit
// archive, which needs the key). Such a server cannot authenticate the archive record, so the
// missing events must read as "unanchored" — neither intact nor tampered — until an auditor
// verifies with the public key.
const DAY = 86_400_000;
const dir = t.testdir();
const keys = generateKeyPairSync('ed25519');
writeFileSync(`${dir}/key.pem`, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
const publicKeyPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
writeFileSync(`${dir}/public.pem`, publicKeyPem);
const key = loadCheckpointKey(`${dir}/key.pem`);

const h = await startHarness(t, { config: (c) => Object.assign(c.audit, { sealIntervalSeconds: 0, sealBatchSize: 4 }) });
const caller = await h.token('app-orders');
h.clock.offsetMs = -30 * DAY;
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
for (let i = 0; i < 4; i++) await h.grant(caller, { database: 'orders', access: 'ro' });
await h.app.auditSealer.sealNow();
h.clock.offsetMs = 0;
for (let i = 0; i < 2; i++) await h.grant(caller, { database: 'orders', access: 'ro' });
await h.app.auditSealer.sealNow();

const before = new Date(Date.now() - 10 * DAY);
const range = await planArchive(h.store, key, before);
if (!range) throw new Error('nothing planned');
await archiveAuditLog(h.store, key, { range, output: `${dir}/a.ndjson`, before, now: new Date(), macKey: macKeyOf(h) });
await h.app.auditSealer.sealNow();
const head = await sealHead(h.store);
if (!head) throw new Error('no head');
// The auditor's own checkpoint of the head, signed with the key the server does not have.
const checkpoint = key.sign({ seq: head.seq, sealHash: head.sealHash, lastId: head.lastId, at: new Date().toISOString() });
writeFileSync(`${dir}/checkpoint.json`, JSON.stringify(checkpoint));
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const env = { DAB_URL: url, DAB_TOKEN: await h.token(AUDITOR_SUBJECT) };

t.test('GET without the checkpoint key: unanchored, not tampered, not intact', async (t) => {
  const outcome = await verify(h);
  t.match(outcome, { ok: false, result: 'unanchored', archived: null, unanchored: { throughSeq: range.throughSeq, lastId: range.lastId } });
  t.equal(outcome.firstBroken, undefined, 'nothing is reported broken');
  t.match(outcome.unanchored?.detail, /cannot be told from a deletion/);
  t.match(await verify(h, `?fromId=${range.lastId + 1}`), { ok: true, result: 'intact' }, 'a range after the archive does not depend on it');
});

t.test('with the public key: intact, the archive anchored', async (t) => {
  const res = await verifyWith(h, { checkpoint, publicKeyPem });
  t.match(res.json(), { ok: true, result: 'intact', archived: { throughSeq: range.throughSeq, lastId: range.lastId }, checkpoint: { status: 'matched' } });
  t.notOk('unanchored' in res.json(), 'no unanchored note');
});

t.test('dab audit verify: exit 9 unanchored, exit 0 with --checkpoint and --public-key', async (t) => {
  const plain = await cli(['audit', 'verify'], env);
  t.equal(plain.code, 9, plain.err);
  t.match(plain.err, /UNANCHORED \(cannot be proven intact\): events up to id \d+ \(seals 1-\d+\)/);
  const anchored = await cli(['audit', 'verify', '--checkpoint', `${dir}/checkpoint.json`, '--public-key', `${dir}/public.pem`], env);
  t.equal(anchored.code, 0, anchored.err);
  t.match(anchored.out, /^audit log intact: .*archived \(seals 1-\d+\); \d+ event MACs verified; checkpoint at seal \d+ matched$/);
});

t.test('a deletion beyond what the archive record claims is still tampering (exit 8)', async (t) => {
  // An unchecked claim explains only the seals it names: a sealed event missing after them is deleted.
  const victim = range.lastId + 1;
  await asSuperuser(h.store, (tx) => tx.exec(`DELETE FROM audit_events WHERE id = ${victim}`));
  t.match(await verify(h), { ok: false, result: 'tampered', firstBroken: { id: victim, kind: 'deleted' } });
  t.notOk('unanchored' in (await verify(h)), 'tampering wins over unanchored');
  const res = await cli(['audit', 'verify'], env);
  t.equal(res.code, 8, res.err);
  t.match(res.err, new RegExp(`TAMPERED: deleted at event ${victim} `));
});
