import type { Queryable } from '../store/store.js';
import type { RequestPolicy } from './request-policy-schema.js';

export interface StoredPolicy {
  policy: RequestPolicy;
  version: number;
}

export async function listRequestPolicies(db: Queryable): Promise<RequestPolicy[]> {
  const { rows } = await db.query<{ body: RequestPolicy }>('SELECT body FROM request_policies ORDER BY name');
  return rows.map((r) => r.body);
}

/** forUpdate inside a decision, so an apply changing the policy waits for it (or it for the apply). */
export async function findRequestPolicy(db: Queryable, name: string, forUpdate = false): Promise<StoredPolicy | undefined> {
  const { rows } = await db.query<{ body: RequestPolicy; version: number }>(`SELECT body, version FROM request_policies WHERE name = $1${forUpdate ? ' FOR SHARE' : ''}`, [name]);
  return rows[0] && { policy: rows[0].body, version: rows[0].version };
}

/** Inserts or replaces by name; returns the stored version. */
export async function putRequestPolicy(db: Queryable, policy: RequestPolicy, now: Date): Promise<number> {
  const { rows } = await db.query<{ version: number }>(
    `INSERT INTO request_policies (name, body, created_at, updated_at) VALUES ($1, $2::jsonb, $3, $3)
     ON CONFLICT (name) DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at, version = request_policies.version + 1
     RETURNING version`,
    [policy.name, JSON.stringify(policy), now],
  );
  return (rows[0] as { version: number }).version;
}

export async function deleteRequestPolicy(db: Queryable, name: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM request_policies WHERE name = $1', [name]);
  return rowCount > 0;
}
