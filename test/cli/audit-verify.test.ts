import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { cli } from '../support/run-cli.js';
import { AUDITOR_SUBJECT, startHarness } from '../support/harness.js';
import { asSuperuser, eventIds } from '../support/seal-helpers.js';


const dir = t.testdir();
const pem = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.export({ type: 'spki', format: 'pem' }).toString();
const keys = generateKeyPairSync('ed25519');
writeFileSync(`${dir}/key.pem`, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(`${dir}/public.pem`, pem(keys.publicKey));
writeFileSync(`${dir}/other.pem`, pem(generateKeyPairSync('ed25519').publicKey));

const h = await startHarness(t, { config: (c) => Object.assign(c.audit, { sealIntervalSeconds: 0, sealBatchSize: 4, checkpointKeyFile: `${dir}/key.pem` }) });
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
const caller = await h.token('app-orders');
for (let i = 0; i < 9; i++) await h.grant(caller, { database: 'orders', access: 'ro' });
await h.app.auditSealer.sealNow();
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const env = { DAB_URL: url, DAB_TOKEN: await h.token(AUDITOR_SUBJECT) };

const latest = await h.app.inject({ method: 'GET', url: '/v1/audit/checkpoints/latest', headers: { authorization: `Bearer ${env.DAB_TOKEN}` } });
writeFileSync(`${dir}/checkpoint.json`, latest.body);
// The checkpoint file dab appends to is NDJSON: the newest line counts.
writeFileSync(`${dir}/checkpoints.ndjson`, `{"not":"a checkpoint"}\n${latest.body}\n`);

t.test('an intact log: exit 0 and a one-line summary', async (t) => {
  const ids = await eventIds(h.store);
  const plain = await cli(['audit', 'verify'], env);
  t.equal(plain.code, 0, plain.err);
  t.match(plain.out, new RegExp(`^audit log intact: ${ids.length} events in 3 seals verified; head seal 3 \\([0-9a-f]{12}…, last event ${ids[ids.length - 1]}\\); 0 not yet sealed; ${ids.length} event MACs verified$`));
  const ranged = await cli(['audit', 'verify', '--from-id', '5', '--to-id', '6'], env);
  t.match(ranged.out, /intact: 4 events in 1 seals verified/, 'a range is widened to whole seals');
  for (const file of ['checkpoint.json', 'checkpoints.ndjson']) {
    const res = await cli(['audit', 'verify', '--checkpoint', `${dir}/${file}`, '--public-key', `${dir}/public.pem`], env);
    t.equal(res.code, 0, res.err);
    t.match(res.out, /checkpoint at seal 3 matched$/, file);
  }
});

t.test('a checkpoint that does not verify with the key: exit 1, not "tampered"', async (t) => {
  const res = await cli(['audit', 'verify', '--checkpoint', `${dir}/checkpoint.json`, '--public-key', `${dir}/other.pem`], env);
  t.equal(res.code, 1);
  t.match(res.err, /^dab: the checkpoint's signature does not verify with .*other\.pem: wrong public key/);
});

t.test('usage and access errors', async (t) => {
  const cases: Array<{ argv: string[]; env?: Record<string, string>; code: number; message: RegExp }> = [
    { argv: ['--from-id', '0'], code: 2, message: /--from-id must be a positive event id/ },
    { argv: ['--from-id', '9', '--to-id', '2'], code: 2, message: /--from-id must not be greater than --to-id/ },
    { argv: ['--checkpoint', `${dir}/checkpoint.json`], code: 2, message: /--checkpoint and --public-key go together/ },
    { argv: ['--checkpoint', `${dir}/public.pem`, '--public-key', `${dir}/public.pem`], code: 1, message: /not a dab checkpoint/ },
    { argv: [], env: { DAB_URL: url, DAB_TOKEN: caller }, code: 5, message: /needs an auditor's token/ },
    { argv: [], env: { DAB_TOKEN: caller }, code: 2, message: /pass --url or set DAB_URL/ },
  ];
  for (const c of cases) {
    const res = await cli(['audit', 'verify', ...c.argv], c.env ?? env);
    t.equal(res.code, c.code, `${c.argv.join(' ')}: ${res.err}`);
    t.match(res.err, c.message);
  }
  t.match((await cli(['audit', 'verify', '--help'])).out, /^Usage: dab audit verify/);
});

t.test('a tampered log: exit 8 naming the first broken event and its kind', async (t) => {
  const id = (await eventIds(h.store))[6] as number;
  await asSuperuser(h.store, (tx) => tx.exec(`UPDATE audit_events SET db_user = 'orders_admin' WHERE id = ${id}`));
  const res = await cli(['audit', 'verify'], env);
  t.equal(res.code, 8);
  t.match(res.err, new RegExp(`^dab: audit log TAMPERED: edited at event ${id} \\(seal 2\\)`));
  t.equal(res.err.split('\n').length, 1, 'one line');
});
