import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import { insertAuditEvent } from '../../src/audit/audit-repo.js';
import { createAuditSealer } from '../../src/audit/audit-sealer.js';
import { loadCheckpointKey } from '../../src/audit/checkpoint-signer.js';
import { verifyAuditLog } from '../../src/audit/verify-chain.js';
import { eventMacKeyBytes } from '../../src/config/load-config.js';
import { cli } from '../support/run-cli.js';
import { createEmbeddedStore } from '../../src/store/embedded-store.js';
import { migrate } from '../../src/store/migrate.js';
import { probeEvent } from '../support/seal-helpers.js';

// `dab audit archive` opens the store itself, like `dab migrate`: here an embedded store in a
// folder (whatever DATABASE_URL says), which is also the case where dab must be stopped first.

const dir = t.testdir();
const dataDir = `${dir}/data`;
writeFileSync(`${dir}/key.pem`, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
const base = {
  DAB_ISSUERS: JSON.stringify([{ issuer: 'https://issuer.invalid', audience: 'dab' }]),
  DAB_AUDIT_FINGERPRINT_KEY: randomBytes(32).toString('hex'),
  // The embedded store is never a default any more: a command opening it says so.
  DAB_STORE_EMBEDDED: 'true',
  DAB_DATA_DIR: dataDir,
};
const env = { ...base, DAB_AUDIT_CHECKPOINT_KEY_FILE: `${dir}/key.pem` };
const macKey = eventMacKeyBytes({ fingerprintKey: base.DAB_AUDIT_FINGERPRINT_KEY });
const cutoff = new Date(Date.now() - 10 * 86_400_000).toISOString();

const seed = await createEmbeddedStore(dataDir);
await migrate(seed);
// Five old events, sealed as a running dab would have; then two recent ones the CLI seals itself.
for (let i = 0; i < 7; i++) {
  await insertAuditEvent(seed, { ...probeEvent(`event ${i}`), occurredAt: new Date(Date.now() - (i < 5 ? 30 : 1) * 86_400_000) }, macKey);
  if (i === 4) await createAuditSealer({ store: seed, now: () => new Date(), batchSize: 100, intervalMs: 0, log: { warn: () => undefined } }).sealNow();
}
await seed.close();

t.test('archives the old events, and the file checks out on its own', async (t) => {
  const res = await cli(['audit', 'archive', '--before', cutoff, '--output', `${dir}/old.ndjson`], env);
  t.equal(res.code, 0, res.err);
  t.match(res.out, /^archived 5 events \(ids 1-5, seals 1-1\) to .*old\.ndjson \(sha256 [0-9a-f]{64}\); recorded as audit event [0-9a-f-]{36}$/);
  const check = await cli(['audit', 'archive', '--check', `${dir}/old.ndjson`]);
  t.equal(check.code, 0, check.err);
  t.match(check.out, /^archive intact: 5 events in 1 seals; last seal 1 \([0-9a-f]{64}\), last event 5; sha256 [0-9a-f]{64}$/);
  t.match((await cli(['audit', 'archive', '--before', cutoff, '--output', `${dir}/again.ndjson`], env)).out, /^nothing to archive/);

  const store = await createEmbeddedStore(dataDir);
  t.teardown(() => store.close());
  const outcome = await verifyAuditLog(store, { archiveKey: loadCheckpointKey(`${dir}/key.pem`).publicKey });
  t.match(outcome, { ok: true, archived: { throughSeq: 1, lastId: 5 } }, 'the store still verifies, from the archive on');
  t.match(await verifyAuditLog(store, { archiveKey: loadCheckpointKey(`${dir}/key.pem`).publicKey, macKey }), { ok: true, result: 'intact', eventMacs: { checked: 3 } }, 'the archive record and the two recent events carry valid MACs');
  const unkeyed = await verifyAuditLog(store, { macKey });
  t.match(unkeyed, { ok: false, result: 'unanchored', archived: null, unanchored: { throughSeq: 1, lastId: 5 } }, 'without the key an archive cannot be told from a deletion: unanchored');
  t.equal(unkeyed.firstBroken, undefined, 'and not reported as tampering');
});

t.test('an altered archive file fails --check with exit 8', async (t) => {
  const text = readFileSync(`${dir}/old.ndjson`, 'utf8');
  writeFileSync(`${dir}/altered.ndjson`, text.replace('event 3', 'event 9'));
  const res = await cli(['audit', 'archive', '--check', `${dir}/altered.ndjson`]);
  t.equal(res.code, 8);
  t.match(res.err, /does NOT verify: event 4 does not match seal 1/, 'the reason of event 4 ("event 3") was changed');
});

t.test('usage and configuration errors', async (t) => {
  const cases: Array<{ argv: string[]; env?: Record<string, string>; code: number; message: RegExp }> = [
    { argv: [], code: 2, message: /give --before DATE and --output FILE/ },
    { argv: ['--before', 'yesterday', '--output', 'x'], code: 2, message: /RFC 3339/ },
    { argv: ['--before', '2999-01-01T00:00:00Z', '--output', 'x'], code: 2, message: /in the future/ },
    { argv: ['--check', 'x', '--output', 'y'], code: 2, message: /--check goes alone/ },
    { argv: ['--before', cutoff, '--output', `${dir}/x.ndjson`], env: base, code: 3, message: /audit\.checkpointKeyFile .*archiving needs it/ },
    { argv: ['--check', `${dir}/missing.ndjson`], code: 1, message: /cannot be read \(ENOENT\)/ },
  ];
  for (const c of cases) {
    const res = await cli(['audit', 'archive', ...c.argv], c.env ?? env);
    t.equal(res.code, c.code, `${c.argv.join(' ')}: ${res.err}`);
    t.match(res.err, c.message);
  }
});
