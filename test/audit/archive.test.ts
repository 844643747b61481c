import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { checkArchiveFile } from '../../src/audit/archive-file.js';
import { archiveAuditLog, ArchiveRefusedError, mayArchive, planArchive } from '../../src/audit/audit-archive.js';
import { loadCheckpointKey, type Checkpoint } from '../../src/audit/checkpoint-signer.js';
import { sqlState } from '../../src/store/store.js';
import { AUDITOR_SUBJECT, startHarness } from '../support/harness.js';
import { asSuperuser, eventIds, macKeyOf, insertJson, rowJson, sealRows, verify, verifyWith } from '../support/seal-helpers.js';

const DAY = 86_400_000;
const dir = t.testdir();
const keys = generateKeyPairSync('ed25519');
writeFileSync(`${dir}/key.pem`, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
const publicKeyPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const key = loadCheckpointKey(`${dir}/key.pem`);

const h = await startHarness(t, { config: (c) => Object.assign(c.audit, { sealIntervalSeconds: 0, sealBatchSize: 4, checkpointKeyFile: `${dir}/key.pem` }) });
const caller = await h.token('app-orders');
async function era(daysAgo: number, grants: number): Promise<void> {
  h.clock.offsetMs = -daysAgo * DAY;
  for (let i = 0; i < grants; i++) await h.grant(caller, { database: 'orders', access: 'ro' });
  await h.app.auditSealer.sealNow(); // seal per era, so no seal mixes eras
}
h.clock.offsetMs = -60 * DAY;
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
await era(60, 6);
await era(40, 5);
await era(0, 3);
h.clock.offsetMs = 0;
const cutoff = (daysAgo: number) => new Date(Date.now() - daysAgo * DAY);
const archive = (daysAgo: number, name: string) =>
  planArchive(h.store, key, cutoff(daysAgo)).then((range) => range && archiveAuditLog(h.store, key, { range, output: `${dir}/${name}`, before: cutoff(daysAgo), now: new Date(), macKey: macKeyOf(h) }));

t.test('old sealed events go to a self-checking file; the chain keeps verifying', async (t) => {
  t.equal(await mayArchive(h.store), true, 'the test store role owns the table');
  const before = await eventIds(h.store);
  const result = await archive(50, 'a.ndjson');
  if (!result) throw new Error('nothing planned');
  t.equal(result.range.fromSeq, 1);
  t.equal(result.range.events, 8, 'the 2 admin events and 6 grants of the oldest era');

  const file = await checkArchiveFile(`${dir}/a.ndjson`);
  const seals = await sealRows(h.store);
  t.match(file, { ok: true, events: 8, seals: result.range.throughSeq, sha256: result.record.fileSha256, last: { seq: result.range.throughSeq, lastId: result.range.lastId } });
  t.equal(file.last?.sealHash, result.record.sealHash, "the file's last seal is the chain's");
  t.equal(seals.length >= result.range.throughSeq, true, 'seals are kept');
  const after = await eventIds(h.store);
  t.same(after.filter((id) => id <= result.range.lastId), [], 'the archived events are gone');
  t.same(before.filter((id) => id > result.range.lastId && !after.includes(id)), [], 'and only those');
  const [recorded] = await h.auditRows("event_type = 'audit.archived'");
  t.match(recorded, { outcome: 'succeeded', reason: 'retention', details: { archive: { throughSeq: result.range.throughSeq, fileSha256: result.record.fileSha256 } } });

  await h.app.auditSealer.sealNow();
  t.match(await verify(h), { ok: true, unsealedEvents: 0, archived: { throughSeq: result.range.throughSeq, lastId: result.range.lastId } });
  const checkpoint = (await h.app.inject({ method: 'GET', url: '/v1/audit/checkpoints/latest', headers: { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` } })).json() as Checkpoint;
  t.match((await verifyWith(h, { checkpoint, publicKeyPem })).json(), { ok: true, archived: { throughSeq: result.range.throughSeq }, checkpoint: { status: 'matched' } });
  t.equal(await archive(50, 'again.ndjson'), undefined, 'nothing more is old enough');
});

t.test('only the table owner, only sealed ids, only DELETE: the trigger still refuses the rest', async (t) => {
  const [first] = await eventIds(h.store);
  const role = `dab_app_${randomBytes(4).toString('hex')}`;
  const declare = "SELECT set_config('dab.archive_through_id', (SELECT max(id) FROM audit_events)::text, true)";
  const attempts: Array<[string, string]> = [
    // Even with DELETE granted, the trigger refuses a role that does not own the table.
    ['a non-owner role', `${declare}; CREATE ROLE ${role}; GRANT SELECT, INSERT, DELETE ON audit_events TO ${role}; GRANT SELECT ON audit_seals TO ${role}; SET LOCAL ROLE ${role}; DELETE FROM audit_events WHERE id = ${first}`],
    ['an unsealed id', `INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason) VALUES (gen_random_uuid(), now(), 'test', 'succeeded', 'probe'); ${declare}; DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)`],
    ['an undeclared DELETE', `DELETE FROM audit_events WHERE id = ${first}`],
    ['an UPDATE', `${declare}; UPDATE audit_events SET reason = 'x' WHERE id = ${first}`],
  ];
  for (const [what, sql] of attempts) {
    // Each attempt rolls back whole (the role it created included).
    const err = await h.store.transaction((tx) => tx.exec(sql)).then(() => undefined, (e: unknown) => e);
    t.equal(sqlState(err), '42501', `${what}: refused`);
    t.match((err as Error).message, /audit_events is append-only/, `${what}: by the trigger`);
  }
  t.match(await verify(h), { ok: true });
});

t.test('forged archive records do not hide deletions', async (t) => {
  const seals = await sealRows(h.store);
  const anchor = (await verify(h)).archived;
  const next = seals.find((s) => s.seq === (anchor?.throughSeq ?? 0) + 1);
  if (!next) throw new Error('no seal after the archive');
  const rows = await Promise.all(Array.from({ length: next.rowCount }, (_, i) => rowJson(h.store, 'audit_events', 'id = $1', [next.firstId + i])));
  const checkpoint = (await h.app.inject({ method: 'GET', url: '/v1/audit/checkpoints/latest', headers: { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` } })).json() as Checkpoint;
  const other = loadOtherKey();
  const forgeries = [
    { name: 'signed with another key', archive: other.signArchive({ throughSeq: next.seq, sealHash: 'f'.repeat(64), lastId: next.lastId, events: 1, fileSha256: '0'.repeat(64), at: new Date().toISOString() }) },
    { name: 'a checkpoint passed off as an archive record', archive: { ...checkpoint, throughSeq: checkpoint.seq, events: 1, fileSha256: '0'.repeat(64) } },
  ];
  for (const forgery of forgeries) {
    await asSuperuser(h.store, async (tx) => {
      await tx.query('DELETE FROM audit_events WHERE id BETWEEN $1 AND $2', [next.firstId, next.lastId]);
      const template = await rowJson(tx, 'audit_events', "event_type = 'audit.archived'", []);
      await insertJson(tx, 'audit_events', { ...template, id: 1_000_000, event_id: randomUUID(), details: { archive: forgery.archive } });
    });
    t.match((await verify(h)).firstBroken, { id: next.firstId, kind: 'deleted', sealSeq: next.seq }, forgery.name);
    await asSuperuser(h.store, async (tx) => {
      await tx.exec('DELETE FROM audit_events WHERE id = 1000000');
      for (const row of rows) await insertJson(tx, 'audit_events', row);
    });
  }
  t.match(await verify(h), { ok: true }, 'undone');
});

t.test('a range that does not verify is never archived', async (t) => {
  const anchor = (await verify(h)).archived;
  const victim = (anchor?.lastId ?? 0) + 2;
  const original = await rowJson(h.store, 'audit_events', 'id = $1', [victim]);
  await asSuperuser(h.store, (tx) => tx.exec(`UPDATE audit_events SET reason = 'hidden' WHERE id = ${victim}`));
  const refused = await archive(30, 'b.ndjson').then(() => undefined, (e: unknown) => e);
  t.ok(refused instanceof ArchiveRefusedError && refused.tampered, 'refused as tampered');
  t.match((refused as Error).message, new RegExp(`edited at event ${victim}`));
  t.notOk(existsSync(`${dir}/b.ndjson`), 'no file');
  t.ok((await eventIds(h.store)).includes(victim), 'nothing removed');

  await asSuperuser(h.store, async (tx) => {
    await tx.query('DELETE FROM audit_events WHERE id = $1', [victim]);
    await insertJson(tx, 'audit_events', original);
  });
  const second = await archive(30, 'b.ndjson');
  t.equal(second?.range.fromSeq, (anchor?.throughSeq ?? 0) + 1, 'the next archive continues where the last ended');
  await h.app.auditSealer.sealNow();
  t.match(await verify(h), { ok: true, archived: { throughSeq: second?.range.throughSeq } });
  t.match(await checkArchiveFile(`${dir}/b.ndjson`), { ok: true, events: second?.range.events });
});

function loadOtherKey() {
  writeFileSync(`${dir}/other.pem`, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return loadCheckpointKey(`${dir}/other.pem`);
}
