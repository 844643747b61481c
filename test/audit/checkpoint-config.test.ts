import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load-config.js';
import { AUDITOR_SUBJECT, startHarness } from '../support/harness.js';
import { asSuperuser } from '../support/seal-helpers.js';

const dir = t.testdir();
const pem = (type: 'ed25519' | 'rsa') =>
  generateKeyPairSync(type as 'ed25519', type === 'rsa' ? ({ modulusLength: 1024 } as never) : undefined).privateKey.export({ type: 'pkcs8', format: 'pem' });
writeFileSync(`${dir}/key.pem`, pem('ed25519'));
writeFileSync(`${dir}/rsa.pem`, pem('rsa'));
writeFileSync(`${dir}/junk.pem`, 'not a key');
const minimal = () => ({ auth: { issuers: [{ issuer: 'https://idp.example', audience: 'dab' }] }, audit: { fingerprintKey: randomBytes(32).toString('hex') } });

t.test('settings: defaults, environment, validation', async (t) => {
  t.match(parseConfig(minimal()).audit, { sealIntervalSeconds: 5, sealBatchSize: 1000, checkpointIntervalSeconds: 60 });
  const env = loadConfig({
    DAB_ISSUERS: JSON.stringify(minimal().auth.issuers),
    DAB_AUDIT_FINGERPRINT_KEY: minimal().audit.fingerprintKey,
    DAB_AUDIT_SEAL_INTERVAL_SECONDS: '0',
    DAB_AUDIT_CHECKPOINT_KEY_FILE: `${dir}/key.pem`,
    DAB_AUDIT_CHECKPOINT_FILE: `${dir}/cp.ndjson`,
  });
  t.match(env.audit, { sealIntervalSeconds: 0, checkpointKeyFile: `${dir}/key.pem`, checkpointFile: `${dir}/cp.ndjson` });
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ sealBatchSize: 0 }, /audit\.sealBatchSize/],
    [{ sealIntervalSeconds: -1 }, /audit\.sealIntervalSeconds/],
    [{ checkpointFile: `${dir}/cp.ndjson` }, /audit\.checkpointFile .*needs audit\.checkpointKeyFile/],
  ];
  for (const [audit, message] of bad) {
    const c = minimal();
    t.throws(() => parseConfig({ ...c, audit: { ...c.audit, ...audit } }), message);
  }
});

t.test('a bad key or checkpoint file stops start-up, naming the setting', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ checkpointKeyFile: `${dir}/missing.pem` }, /audit\.checkpointKeyFile .*cannot read .*ENOENT/],
    [{ checkpointKeyFile: `${dir}/junk.pem` }, /audit\.checkpointKeyFile .*not a PEM private key/],
    [{ checkpointKeyFile: `${dir}/rsa.pem` }, /audit\.checkpointKeyFile .*rsa key; an Ed25519 key is required/],
    [{ checkpointKeyFile: `${dir}/key.pem`, checkpointFile: `${dir}/no/such/dir/cp.ndjson` }, /audit\.checkpointFile .*cannot append/],
  ];
  for (const [audit, message] of cases) {
    const c = minimal();
    const config = parseConfig({ ...c, logLevel: 'silent', audit: { ...c.audit, ...audit } });
    const err = await buildApp(config, { store: undefined as never, assumeRole: undefined as never }).then(() => undefined, (e: unknown) => e);
    t.type(err, ConfigError);
    t.match((err as Error).message, message);
  }
});

t.test('no key, or nothing sealed: no checkpoint (404)', async (t) => {
  const h = await startHarness(t, { config: (c) => Object.assign(c.audit, { sealIntervalSeconds: 0 }) });
  const res = await h.app.inject({ method: 'GET', url: '/v1/audit/checkpoints/latest', headers: { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` } });
  t.equal(res.statusCode, 404);
  t.match(res.json(), { code: 'not_found', detail: /not configured/ });
});

t.test('after a restart, dab still refuses to sign over a chain rewritten since its last checkpoint', async (t) => {
  const h = await startHarness(t, { config: (c) => Object.assign(c.audit, { sealIntervalSeconds: 0, checkpointKeyFile: `${dir}/key.pem`, checkpointFile: `${dir}/restart.ndjson` }) });
  const auditor = { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` };
  const latest = (app = h.app) => app.inject({ method: 'GET', url: '/v1/audit/checkpoints/latest', headers: auditor });
  t.equal((await latest()).statusCode, 404, 'nothing sealed yet');
  await h.registerOrders();
  await h.app.auditSealer.sealNow();
  t.equal((await latest()).statusCode, 200);

  await asSuperuser(h.store, async (tx) => {
    await tx.exec("UPDATE audit_events SET reason = 'rewritten'");
    await tx.exec('DELETE FROM audit_seals');
  });
  await h.app.auditSealer.sealNow();
  const restarted = await buildApp(h.config, { store: h.store, assumeRole: undefined as never, logStream: { write: () => undefined } });
  t.teardown(() => restarted.close());
  await restarted.ready();
  const res = await latest(restarted);
  t.equal(res.statusCode, 409, 'the last checkpoint in audit.checkpointFile no longer matches the chain');
  t.match(res.json(), { code: 'conflict', detail: /no longer holds checkpoint 1/ });
});
