import { randomBytes } from 'node:crypto';
import t from 'tap';
import { createAuditWriter, type FlushReport } from '../../src/audit/audit-writer.js';
import type { Queryable } from '../../src/store/store.js';
import { probeEvent } from '../support/seal-helpers.js';
import { openTestStore } from '../support/test-store.js';

const macKey = randomBytes(32);

/** The real store, with its INSERTs held until `open()`; `held` counts INSERTs waiting. */
function holdInserts(inner: Queryable) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const gate = { held: 0, open: () => open() };
  const store: Queryable = {
    exec: inner.exec,
    async query(sql, params) {
      if (sql.startsWith('INSERT')) {
        gate.held += 1;
        await opened;
      }
      return inner.query(sql, params);
    },
  };
  return { gate, store };
}

t.test('batches are capped at maxBatchRows and flushes at maxConcurrentFlushes', async (t) => {
  const test = await openTestStore();
  t.teardown(() => test.close());
  const { gate, store } = holdInserts(test.store);
  const flushes: FlushReport[] = [];
  const writer = createAuditWriter({ store, macKey, maxBatchRows: 3, maxConcurrentFlushes: 2, onFlush: (f) => flushes.push(f) });
  const writes = Array.from({ length: 11 }, (_, i) => writer.write(probeEvent(`row ${i}`)));
  t.equal(gate.held, 2, 'two INSERTs in flight at once, no more');
  t.equal(writer.queued, 11 - 1 - 1, 'the first two rows went out alone (slots were free); the rest wait');
  gate.open();
  await Promise.all(writes);
  // Two INSERTs run at once on a server, so they may finish in either order: compare the multiset.
  t.same(flushes.map((f) => f.rows).sort(), [1, 1, 3, 3, 3], 'then at most three rows per INSERT');
  t.ok(flushes.every((f) => f.ok && f.seconds >= 0));
  const { rows } = await test.store.query<{ reason: string; has_mac: boolean }>("SELECT reason, event_mac IS NOT NULL AS has_mac FROM audit_events WHERE event_type = 'test.event' ORDER BY id");
  t.same(rows.map((r) => r.reason).sort(), Array.from({ length: 11 }, (_, i) => `row ${i}`).sort(), 'every row committed once');
  t.ok(rows.every((r) => r.has_mac), 'every batched row carries its event MAC');
  await writer.close();
});

t.test('an idle writer sends a row at once, alone: no timer waits for company', async (t) => {
  const test = await openTestStore();
  t.teardown(() => test.close());
  const flushes: FlushReport[] = [];
  const writer = createAuditWriter({ store: test.store, macKey, maxBatchRows: 64, maxConcurrentFlushes: 1, onFlush: (f) => flushes.push(f) });
  for (let i = 0; i < 3; i++) await writer.write(probeEvent(`alone ${i}`));
  t.same(flushes.map((f) => f.rows), [1, 1, 1]);
  await writer.close();
  await t.rejects(writer.write(probeEvent('late')), { name: 'AuditWriterClosedError' }, 'closed means closed');
});
