import t from 'tap';
import { startHarness } from '../support/harness.js';
import { applyPolicies, as, ordersPolicy } from '../access-requests/support.js';

// A receiver that never comes back: after maxAttempts the delivery is given up, kept in the
// store with its last error, counted as gave_up; and a webhook no longer configured is given up
// at once rather than retried forever.

const h = await startHarness(t, {
  config: (c) => (c.notify = { webhooks: [{ name: 'gone', url: 'http://127.0.0.1:1/hook', format: 'json' }], timeoutMs: 200, baseBackoffMs: 10, maxBackoffMs: 20, maxAttempts: 3, pollIntervalMs: 20 }),
});
await h.registerOrders();
await applyPolicies(h, [ordersPolicy(h.issuer.issuer)]);

t.test('given up after maxAttempts, visible in the store and the metrics', async (t) => {
  const res = await as(h, 'app-1', ['apps'], 'POST', '/v1/access-requests', { database: 'orders', access: 'rw', reason: 'r', durationSeconds: 600 });
  t.equal(res.statusCode, 201, 'an unreachable receiver never fails the request itself');
  let row: { attempts: number; given_up_at: Date | null; last_error: string | null } | undefined;
  for (let i = 0; i < 200; i++) {
    row = (await h.store.query<NonNullable<typeof row>>('SELECT attempts, given_up_at, last_error FROM notification_deliveries')).rows[0];
    if (row?.given_up_at) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  t.equal(row?.attempts, 3);
  t.ok(row?.given_up_at, 'given up');
  t.match(row?.last_error, /^unreachable: /);
  const metrics = (await h.app.inject('/metrics')).body;
  t.match(metrics, /^dab_notify_deliveries_total\{webhook="gone",result="failed"\} 2$/m);
  t.match(metrics, /^dab_notify_deliveries_total\{webhook="gone",result="gave_up"\} 1$/m);
  t.notMatch(metrics, /127\.0\.0\.1:1/, 'the URL (which may hold a token) is not a label');
});

t.test('a delivery for a webhook no longer configured is given up, not retried', async (t) => {
  await h.store.query(`INSERT INTO notification_deliveries (id, webhook, event_type, payload, next_attempt_at, created_at) VALUES (gen_random_uuid(), 'removed', 'access_request.created', '{}'::jsonb, now(), now())`);
  let row: { given_up_at: Date | null; last_error: string | null } | undefined;
  for (let i = 0; i < 200 && !row?.given_up_at; i++) {
    row = (await h.store.query<NonNullable<typeof row>>(`SELECT given_up_at, last_error FROM notification_deliveries WHERE webhook = 'removed'`)).rows[0];
    await new Promise((r) => setTimeout(r, 25));
  }
  t.equal(row?.last_error, 'webhook no longer configured');
});
