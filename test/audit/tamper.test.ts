import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import type { Checkpoint } from '../../src/audit/checkpoint-signer.js';
import { AUDITOR_SUBJECT, startHarness } from '../support/harness.js';
import { asSuperuser, eventIds, insertJson, probeEvent, rolledBackInsert, rowJson, sealRows, verify, verifyWith } from '../support/seal-helpers.js';

// Each tamper is made the way a database superuser would (triggers switched off), checked, then
// undone, so every case starts from an intact log. The recomputed chain goes last: it is not undone.
const dir = t.testdir();
const keys = generateKeyPairSync('ed25519');
writeFileSync(`${dir}/checkpoint-key.pem`, keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
const publicKeyPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const checkpointFile = `${dir}/checkpoints.ndjson`;

const h = await startHarness(t, {
  config: (c) => Object.assign(c.audit, { sealIntervalSeconds: 0, sealBatchSize: 6, checkpointKeyFile: `${dir}/checkpoint-key.pem`, checkpointFile }),
});
await h.registerOrders();
await h.map('app-orders', 'orders', ['ro']);
const caller = await h.token('app-orders');
for (let i = 0; i < 14; i++) {
  const res = await h.grant(caller, { database: 'orders', access: i % 4 ? 'ro' : 'rw' });
  if (i === 6) await rolledBackInsert(h.store); // a sequence gap inside a sealed range
  if (res.statusCode !== 200 && res.statusCode !== 403) throw new Error(res.body);
}
await h.app.auditSealer.sealNow();
const ids = await eventIds(h.store);
const seals = await sealRows(h.store);
const gapId = seals.flatMap((s) => s.gaps)[0] as number;
const sealOf = (id: number) => seals.find((s) => s.firstId <= id && id <= s.lastId)?.seq;
const auditor = async () => ({ authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` });

/** The latest checkpoint, which must vouch for seal `seq` (the test's head). */
async function latestCheckpointOf(seq: number | undefined): Promise<Checkpoint> {
  const line = readFileSync(checkpointFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Checkpoint).filter((c) => c.seq === seq).pop();
  if (!line) throw new Error(`no checkpoint for seal ${seq}`);
  return line;
}

async function latestCheckpoint(): Promise<Checkpoint> {
  const res = await h.app.inject({ method: 'GET', url: '/v1/audit/checkpoints/latest', headers: await auditor() });
  if (res.statusCode !== 200) throw new Error(`checkpoint: ${res.statusCode} ${res.body}`);
  return res.json() as Checkpoint;
}

t.test('the intact log verifies, and a signed checkpoint is published', async (t) => {
  t.ok(gapId > 1, 'the data set has a gap');
  t.match(await verify(h), { ok: true, checkedEvents: ids.length, unsealedEvents: 0 });
  const checkpoint = await latestCheckpoint();
  t.match(checkpoint, { version: 1, seq: seals.length, lastId: ids[ids.length - 1] });
  t.same(JSON.parse(readFileSync(checkpointFile, 'utf8').trim().split('\n').pop() as string), checkpoint, 'appended to audit.checkpointFile');
  t.ok(h.logs.some((l) => JSON.parse(l).checkpoint?.signature === checkpoint.signature), 'written to the log stream');
  const res = await verifyWith(h, { checkpoint, publicKeyPem });
  t.match(res.json(), { ok: true, checkpoint: { seq: checkpoint.seq, status: 'matched' } });
});

t.test('an edited event is found at its id', async (t) => {
  const id = ids[5] as number;
  const original = await rowJson(h.store, 'audit_events', 'id = $1', [id]);
  for (const edit of ["reason = 'nothing to see'", "occurred_at = occurred_at + interval '1 microsecond'", `details = '{"forged": true}'`, 'actor_groups = NULL']) {
    await asSuperuser(h.store, (tx) => tx.exec(`UPDATE audit_events SET ${edit} WHERE id = ${id}`));
    t.match((await verify(h)).firstBroken, { id, kind: 'edited', sealSeq: sealOf(id) }, edit);
    await asSuperuser(h.store, async (tx) => {
      await tx.query('DELETE FROM audit_events WHERE id = $1', [id]);
      await insertJson(tx, 'audit_events', original);
    });
  }
  t.match(await verify(h), { ok: true }, 'undone');
});

t.test('a deleted event is found at its id', async (t) => {
  const id = ids[8] as number;
  const original = await rowJson(h.store, 'audit_events', 'id = $1', [id]);
  await asSuperuser(h.store, (tx) => tx.exec(`DELETE FROM audit_events WHERE id = ${id}`));
  t.match((await verify(h)).firstBroken, { id, kind: 'deleted', sealSeq: sealOf(id) });
  const last = ids[ids.length - 1] as number;
  const lastRow = await rowJson(h.store, 'audit_events', 'id = $1', [last]);
  await asSuperuser(h.store, (tx) => tx.exec(`DELETE FROM audit_events WHERE id = ${last}`));
  t.match((await verify(h)).firstBroken, { id, kind: 'deleted' }, 'the first of two deletions is reported');
  await asSuperuser(h.store, async (tx) => {
    await insertJson(tx, 'audit_events', original);
    await insertJson(tx, 'audit_events', lastRow);
  });
  t.match(await verify(h), { ok: true }, 'undone');
});

t.test('an event forged into a sealed range is found at its id', async (t) => {
  const forged = { ...(await rowJson(h.store, 'audit_events', 'id = $1', [ids[3]])), id: gapId, event_id: probeEvent().eventId, reason: 'forged' };
  await asSuperuser(h.store, (tx) => insertJson(tx, 'audit_events', forged));
  t.match((await verify(h)).firstBroken, { id: gapId, kind: 'inserted', sealSeq: sealOf(gapId) ?? seals.find((s) => s.gaps.includes(gapId))?.seq });
  await asSuperuser(h.store, (tx) => tx.exec(`DELETE FROM audit_events WHERE id = ${gapId}`));
  t.match(await verify(h), { ok: true }, 'undone');
  await asSuperuser(h.store, (tx) => insertJson(tx, 'audit_events', { ...forged, id: -7 }));
  t.match((await verify(h)).firstBroken, { id: -7, kind: 'inserted', sealSeq: 0 }, 'below every seal');
  await asSuperuser(h.store, (tx) => tx.exec('DELETE FROM audit_events WHERE id = -7'));
  t.match(await verify(h), { ok: true }, 'undone');
});

t.test('two events swapped (reordered) are found at the first', async (t) => {
  const seal = seals.find((s) => s.rowCount >= 3 && s.gaps.length === 0) ?? seals[0];
  const [a, b] = [(seal?.firstId ?? 1) + 1, seal?.lastId ?? 2];
  const rowA = await rowJson(h.store, 'audit_events', 'id = $1', [a]);
  const rowB = await rowJson(h.store, 'audit_events', 'id = $1', [b]);
  const place = async (x: Record<string, unknown>, y: Record<string, unknown>) =>
    asSuperuser(h.store, async (tx) => {
      await tx.query('DELETE FROM audit_events WHERE id = ANY($1::bigint[])', [[a, b]]);
      await insertJson(tx, 'audit_events', { ...x, id: a });
      await insertJson(tx, 'audit_events', { ...y, id: b });
    });
  await place(rowB, rowA);
  t.match((await verify(h)).firstBroken, { id: a, kind: 'reordered', sealSeq: seal?.seq });
  await place(rowA, rowB);
  t.match(await verify(h), { ok: true }, 'undone');
});

t.test('a removed or altered seal breaks the chain', async (t) => {
  const victim = seals[1];
  const head = seals[seals.length - 1];
  const originals = [await rowJson(h.store, 'audit_seals', 'seq = $1', [victim?.seq]), await rowJson(h.store, 'audit_seals', 'seq = $1', [head?.seq])];
  const restore = () =>
    asSuperuser(h.store, async (tx) => {
      await tx.query('DELETE FROM audit_seals WHERE seq = ANY($1::bigint[])', [[victim?.seq, head?.seq]]);
      for (const row of originals) await insertJson(tx, 'audit_seals', row);
    });
  await asSuperuser(h.store, (tx) => tx.exec(`DELETE FROM audit_seals WHERE seq = ${victim?.seq}`));
  t.match((await verify(h)).firstBroken, { id: victim?.firstId, kind: 'chain_broken', sealSeq: victim?.seq }, 'a seal removed');
  await restore();
  await asSuperuser(h.store, (tx) => tx.exec(`UPDATE audit_seals SET sealed_at = sealed_at + interval '1 second' WHERE seq = ${head?.seq}`));
  t.match((await verify(h)).firstBroken, { id: head?.firstId, kind: 'chain_broken', sealSeq: head?.seq }, 'a seal edited');
  await restore();
  await asSuperuser(h.store, (tx) => tx.exec(`DELETE FROM audit_seals WHERE seq = ${head?.seq}`));
  const checkpoint = await latestCheckpointOf(head?.seq);
  t.match((await verifyWith(h, { checkpoint, publicKeyPem })).json(), { ok: false, firstBroken: { id: null, kind: 'checkpoint_mismatch' }, checkpoint: { status: 'mismatch' } }, 'the last seal removed: only a checkpoint notices');
  await restore();
  t.match(await verify(h), { ok: true }, 'undone');
});

t.test('wrong key or altered checkpoint: the signature does not verify', async (t) => {
  const checkpoint = await latestCheckpoint();
  const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  t.match((await verifyWith(h, { checkpoint, publicKeyPem: other })).json(), { ok: false, checkpoint: { status: 'signature_invalid' } }, 'another key');
  const altered = { ...checkpoint, lastId: checkpoint.lastId + 1 };
  t.match((await verifyWith(h, { checkpoint: altered, publicKeyPem })).json(), { ok: false, checkpoint: { status: 'signature_invalid' } }, 'an altered checkpoint');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  for (const pem of ['not a key', rsa]) t.equal((await verifyWith(h, { checkpoint, publicKeyPem: pem })).statusCode, 400, 'a bad public key is a 400');
});

t.test('edit + every later seal recomputed: the seals hide it, the event MAC and a saved checkpoint do not', async (t) => {
  const saved = await latestCheckpoint();
  const id = ids[2] as number;
  const from = sealOf(id) as number;
  // The superuser edits an event, drops its seal and every later one, and lets the sealer redo them
  // (exactly what recomputing by hand would produce: the algorithm is no secret).
  await asSuperuser(h.store, async (tx) => {
    await tx.exec(`UPDATE audit_events SET caller_reason = 'rewritten' WHERE id = ${id}`);
    await tx.exec(`DELETE FROM audit_seals WHERE seq >= ${from}`);
  });
  await h.app.auditSealer.sealNow();
  // The chain is self-consistent again, but the superuser has no event MAC key to re-MAC the row.
  t.match(await verify(h), { ok: false, result: 'tampered', firstBroken: { id, kind: 'forged', sealSeq: from }, unsealedEvents: 0 }, 'the edited row no longer carries a valid MAC');

  const res = await verifyWith(h, { checkpoint: saved, publicKeyPem });
  t.match(res.json(), { ok: false, result: 'tampered', firstBroken: { id, kind: 'forged' }, checkpoint: { seq: saved.seq, status: 'mismatch' } }, 'and the checkpoint no longer matches');

  const refused = await h.app.inject({ method: 'GET', url: '/v1/audit/checkpoints/latest', headers: await auditor() });
  t.equal(refused.statusCode, 409, 'dab refuses to sign a head that no longer extends its last checkpoint');
  t.ok(h.logs.some((l) => JSON.parse(l).checkpointMismatch?.seq === saved.seq), 'and says so in the log');
});
