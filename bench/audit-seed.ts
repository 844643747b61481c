import { MAC_INPUT_SQL } from '../src/audit/audit-canonical.js';
import { macOfCanonical } from '../src/audit/event-mac.js';
import type { Store } from '../src/store/store.js';

/** The shape of the seeded log, so queries can pick parameters that exist. */
export const SEED = {
  subjects: 5000,
  databases: 200,
  days: 90,
  issuer: 'https://idp.bench.example',
  /** The last instant of the seeded window (fixed, so runs are comparable). */
  end: new Date('2026-11-01T00:00:00Z'),
};

export const subjectName = (i: number) => `svc-${i}`;
export const databaseName = (i: number) => `db-${i}`;
export const dbUserName = (db: number, level: string) => `db_${db}_${level}_user`;

// One statement per chunk, generated inside PostgreSQL: 10 million rows never cross the wire.
// Rows follow the grant path's shape: ~88% issued grants (with token fingerprint, STS session and
// 15-minute expiry), ~10% denials, ~2% STS failures; subjects, databases and levels skewed a little
// (hot callers and databases exist in real logs), occurred_at spread over the window in id order.
const CHUNK_SQL = `
INSERT INTO audit_events (event_id, occurred_at, event_type, outcome, reason, rule, request_id, actor_issuer,
  actor_subject, actor_groups, source_ip, user_agent, database_name, access_level, db_user, role_arn,
  session_name, source_identity, access_key_id, token_fingerprint, expires_at, caller_reason, details)
SELECT gen_random_uuid(), t.at,
  CASE WHEN k.kind < 88 THEN 'credential.issued' WHEN k.kind < 98 THEN 'credential.denied' ELSE 'credential.failed' END,
  CASE WHEN k.kind < 88 THEN 'issued' WHEN k.kind < 98 THEN 'denied' ELSE 'failed' END,
  CASE WHEN k.kind < 88 THEN 'mapping_allows' WHEN k.kind < 98 THEN 'no_mapping' ELSE 'sts_throttled' END,
  CASE WHEN k.kind < 98 THEN md5('mapping' || k.subj || k.db)::uuid::text END,
  gen_random_uuid()::text, $4, 'svc-' || k.subj, ARRAY['team-' || (k.subj % 50)],
  '10.' || (k.subj % 250) || '.' || (k.db % 250) || '.7', 'dab-client/1.0 node/20',
  'db-' || k.db, k.level, 'db_' || k.db || '_' || k.level || '_user',
  'arn:aws:iam::123456789012:role/db-' || k.db || '-' || k.level,
  CASE WHEN k.kind < 88 THEN 'dab.svc-' || k.subj END, CASE WHEN k.kind < 88 THEN 'svc-' || k.subj END,
  CASE WHEN k.kind < 88 THEN 'ASIA' || upper(substr(md5(k.subj || '/' || k.db || '/' || (g / 3600)), 1, 16)) END,
  CASE WHEN k.kind < 88 THEN 'hmac-sha256:' || md5(g::text) || md5((g * 7)::text) END,
  CASE WHEN k.kind < 88 THEN t.at + interval '900 seconds' END,
  CASE WHEN g % 5 = 0 THEN 'ticket OPS-' || (g % 10000) END, NULL
FROM generate_series($1::bigint, $2::bigint) AS g
-- Each random() mentions g: an uncorrelated LATERAL subquery would be evaluated once, not per row.
CROSS JOIN LATERAL (SELECT
  (floor(power(random() + 0 * g, 2) * ${SEED.subjects}))::int AS subj,
  (floor(power(random() + 0 * g, 1.5) * ${SEED.databases}))::int AS db,
  (ARRAY['ro','ro','ro','rw','monitor'])[1 + floor((random() + 0 * g) * 5)::int] AS level,
  floor((random() + 0 * g) * 100)::int AS kind) AS k
CROSS JOIN LATERAL (SELECT $3::timestamptz + (g * ($5::double precision)) * interval '1 second' AS at) AS t`;

/**
 * Seeds `total` events in chunks, printing progress, then VACUUM ANALYZE so the planner sees the real
 * distribution. Returns rows per second of seeding (not a target; context for the reader).
 */
export async function seedAuditEvents(store: Store, total: number, progress: (line: string) => void): Promise<number> {
  const chunk = 250_000;
  const seconds = SEED.days * 86_400;
  const start = new Date(SEED.end.getTime() - seconds * 1000);
  const step = seconds / total;
  const began = Date.now();
  for (let from = 0; from < total; from += chunk) {
    const to = Math.min(total, from + chunk) - 1;
    await store.query(CHUNK_SQL, [from, to, start, SEED.issuer, step]);
    const done = to + 1;
    progress(`seeded ${done.toLocaleString('en')} / ${total.toLocaleString('en')} events (${Math.round(done / ((Date.now() - began) / 1000)).toLocaleString('en')}/s)`);
  }
  // A long-lived log has been autovacuumed: visibility map set, statistics fresh.
  await store.exec('VACUUM ANALYZE audit_events');
  return total / ((Date.now() - began) / 1000);
}

/**
 * Gives the first `count` seeded events the MAC dab would have written them with. The SQL seed
 * cannot (the key never reaches the database), and without it verify rightly calls every seeded
 * row forged. A bench-only step, as the table's owner with the append-only triggers off for its
 * one transaction; seals from an earlier run are removed first, since they commit to the rows
 * without MACs. Rows that already carry a MAC are left alone, so a reused database costs nothing.
 */
export async function macSeededEvents(store: Store, macKey: Buffer, count: number, progress: (line: string) => void): Promise<void> {
  const { rows } = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_events WHERE id <= $1 AND event_mac IS NULL', [count]);
  if (!rows[0]?.n) return;
  progress(`giving the first ${count.toLocaleString('en')} seeded events dab's event MAC`);
  const page = 20_000;
  await store.transaction(async (tx) => {
    await tx.exec('ALTER TABLE audit_events DISABLE TRIGGER USER; ALTER TABLE audit_seals DISABLE TRIGGER USER; DELETE FROM audit_seals');
    for (let from = 1; from <= count; from += page) {
      const { rows: page_ } = await tx.query<{ id: string; canonical: string }>(
        `SELECT id::text AS id, ${MAC_INPUT_SQL} AS canonical FROM audit_events WHERE id BETWEEN $1 AND $2 AND event_mac IS NULL`,
        [from, Math.min(count, from + page - 1)],
      );
      await tx.query('UPDATE audit_events AS e SET event_mac = m.mac FROM unnest($1::bigint[], $2::text[]) AS m(id, mac) WHERE e.id = m.id', [
        page_.map((r) => r.id),
        page_.map((r) => macOfCanonical(macKey, r.canonical)),
      ]);
    }
    await tx.exec('ALTER TABLE audit_events ENABLE TRIGGER USER; ALTER TABLE audit_seals ENABLE TRIGGER USER');
  });
}
