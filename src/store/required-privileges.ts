import type { Queryable } from './store.js';

/**
 * Everything `dab serve` does with its store, as privileges of the role it connects as — the one
 * list, kept in step with deploy/postgres/dab-store-grants.sql (test/deploy/store-roles.test.ts
 * compares the two). A table added by a migration that serving touches belongs here and there.
 */
export interface RequiredPrivilege {
  kind: 'table' | 'sequence';
  name: string;
  privilege: 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'USAGE';
  /** Who needs it, for the operator reading a 503. */
  why: string;
}

const table = (name: string, privileges: RequiredPrivilege['privilege'][], why: string): RequiredPrivilege[] =>
  privileges.map((privilege) => ({ kind: 'table', name, privilege, why }));

export const REQUIRED_PRIVILEGES: readonly RequiredPrivilege[] = Object.freeze([
  ...table('databases', ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], 'registering databases'),
  ...table('mappings', ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], 'managing mappings'),
  // Append-only: INSERT and SELECT, never UPDATE or DELETE (the grants file gives no more).
  ...table('audit_events', ['SELECT', 'INSERT'], 'the audit log'),
  ...table('audit_seals', ['SELECT', 'INSERT'], 'the audit sealer'),
  // nextval for each event; the sealer's fence reads pg_sequence_last_value (USAGE suffices for both).
  { kind: 'sequence', name: 'audit_events_id_seq', privilege: 'USAGE', why: 'the audit log and sealer' },
  // Read only: the bump on changes runs as the owner (migration 009).
  ...table('access_model_version', ['SELECT'], 'the access-model cache'),
  ...table('schema_migrations', ['SELECT'], 'readiness'),
  // Heartbeats of the replicas sharing the mint budget (migration 014): not audit data.
  ...table('dab_replicas', ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], 'the mint budget\'s replica count'),
  // Just-in-time access (012): policies are applied like mappings; requests change state but are never deleted.
  ...table('request_policies', ['SELECT', 'INSERT', 'UPDATE', 'DELETE'], 'request policies (dab admin apply)'),
  ...table('access_requests', ['SELECT', 'INSERT', 'UPDATE'], 'access requests'),
  ...table('notification_deliveries', ['SELECT', 'INSERT', 'UPDATE'], 'the webhook outbox'),
]);

/**
 * The privileges the connected role lacks, as "INSERT on audit_events" (names only: no secrets).
 * One cheap catalog query; a relation that does not exist counts as missing, never as an error.
 */
export async function missingPrivileges(db: Queryable, required: readonly RequiredPrivilege[] = REQUIRED_PRIVILEGES): Promise<string[]> {
  const { rows } = await db.query<{ i: number; ok: boolean | null }>(
    `SELECT r.i, CASE r.kind
              WHEN 'table' THEN has_table_privilege(to_regclass(r.name), r.privilege)
              ELSE has_sequence_privilege(to_regclass(r.name), r.privilege) END AS ok
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS r(kind, name, privilege, i)`,
    [required.map((p) => p.kind), required.map((p) => p.name), required.map((p) => p.privilege)],
  );
  const ok = new Set(rows.filter((r) => r.ok === true).map((r) => Number(r.i) - 1));
  return required.filter((_, i) => !ok.has(i)).map((p) => `${p.privilege} on ${p.kind === 'sequence' ? 'sequence ' : ''}${p.name} (${p.why})`);
}
