// /metrics: Node's and the process's series under their standard names (stock dashboards find
// them), which dab and Node this is, and the gauges read at scrape time — the STS session cache's
// size and the seal lag (age of the oldest row no seal covers) — which never fail the scrape.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { insertAuditEvent } from '../../src/audit/audit-repo.js';
import { dabVersion } from '../../src/dab-version.js';
import { startHarness, type Harness } from '../support/harness.js';
import { macKeyOf, probeEvent } from '../support/seal-helpers.js';

const scrape = async (h: Harness) => {
  const res = await h.app.inject('/metrics');
  t.equal(res.statusCode, 200, 'the scrape answers 200');
  return res.body;
};
const gauge = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 'missing');

t.test("Node's and the process's metrics under their standard names, and build info", async (t) => {
  const h = await startHarness(t);
  const text = await scrape(h);
  for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
    t.match(text, new RegExp(`^${name}[ {]`, 'm'), name);
  }
  t.notMatch(text, /^dab_(process|nodejs)_/m, 'no dab_ prefix on the standard series');
  t.match(text, new RegExp(`^dab_build_info\\{version="${dabVersion().replace(/\./g, '\\.')}",node_version="${process.version}"\\} 1$`, 'm'), 'dab_build_info');
});

t.test('the STS session cache size is read at scrape time', async (t) => {
  const h = await startHarness(t);
  await h.registerOrders();
  await h.map('app-orders', 'orders', ['ro', 'rw']);
  t.equal(gauge(await scrape(h), 'dab_sts_session_cache_entries'), 0, 'empty at start');
  const token = await h.token('app-orders');
  await h.grant(token, { database: 'orders', access: 'ro' });
  await h.grant(token, { database: 'orders', access: 'rw' });
  t.equal(gauge(await scrape(h), 'dab_sts_session_cache_entries'), 2, 'one session per (caller, role)');
});

t.test('seal lag: the age of the oldest unsealed row, 0 once sealed', async (t) => {
  const h = await startHarness(t, { config: (c) => Object.assign(c.audit, { sealIntervalSeconds: 0 }) });
  await h.app.auditSealer.sealNow();
  t.equal(gauge(await scrape(h), 'dab_audit_seal_lag_seconds'), 0, 'nothing unsealed');
  const twoMinutesAgo = { ...probeEvent('old'), occurredAt: new Date(Date.now() - 120_000) };
  await insertAuditEvent(h.store, twoMinutesAgo, macKeyOf(h));
  await insertAuditEvent(h.store, probeEvent('new'), macKeyOf(h));
  const lag = gauge(await scrape(h), 'dab_audit_seal_lag_seconds');
  t.ok(lag >= 120 && lag < 600, `the oldest unsealed row's age (${lag} s), not the newest's`);
  await h.app.auditSealer.sealNow();
  t.equal(gauge(await scrape(h), 'dab_audit_seal_lag_seconds'), 0, 'sealed: no lag');
});

t.test('a store that cannot answer makes the seal lag NaN, not a failed scrape', async (t) => {
  const h = await startHarness(t, {
    wrapStore: (store) => ({ ...store, query: (sql, params, options) => (sql.includes('audit_seals') ? Promise.reject(new Error('connection terminated')) : store.query(sql, params, options)) }),
  });
  const text = await scrape(h);
  // prom-client writes "Nan"; Prometheus parses NaN in any case.
  t.match(text, /^dab_audit_seal_lag_seconds nan$/im, 'NaN');
  t.match(text, /^dab_build_info\{/m, 'and the rest of the scrape is there');
});

t.test('checkpoint age: absent without checkpoint signing, NaN until the first, then its age', async (t) => {
  const plain = await startHarness(t);
  t.notMatch(await scrape(plain), /^dab_audit_checkpoint_age_seconds/m, 'no gauge when checkpoints are off');

  const dir = mkdtempSync(join(tmpdir(), 'dab-metrics-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'key.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const h = await startHarness(t, { config: (c) => Object.assign(c.audit, { sealIntervalSeconds: 0, checkpointIntervalSeconds: 0, checkpointKeyFile: join(dir, 'key.pem') }) });
  t.match(await scrape(h), /^dab_audit_checkpoint_age_seconds nan$/im, 'NaN before any checkpoint');
  await insertAuditEvent(h.store, probeEvent('sealed and signed'), macKeyOf(h));
  await h.app.auditSealer.sealNow();
  h.clock.offsetMs = 90_000;
  const age = gauge(await scrape(h), 'dab_audit_checkpoint_age_seconds');
  t.ok(age >= 90 && age < 600, `the checkpoint's age by dab's clock (${age} s)`);
});
