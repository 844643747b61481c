import { runSqlOnce } from '../store/run-sql.js';
import { findPostgresBinDir, startThrowawayPostgres } from './throwaway-postgres.js';

export interface TargetDatabase {
  /** Superuser URL of the demo database (for seeding and checks; never printed as a login path). */
  url: string;
  host: string;
  port: number;
  dbname: string;
  kind: 'given' | 'throwaway';
  close(): Promise<void>;
}

export const DEMO_USERS = { ro: 'oltp_ro_user', rw: 'oltp_rw_user', monitor: 'pgmonitor' } as const;

/**
 * The database the sandbox brokers access to: the server at targetUrl, or a throwaway cluster
 * started from the installed PostgreSQL binaries.
 */
export async function openTargetDatabase(targetUrl?: string): Promise<TargetDatabase> {
  if (targetUrl) {
    const u = new URL(targetUrl);
    return { url: targetUrl, host: u.hostname, port: Number(u.port || 5432), dbname: decodeURIComponent(u.pathname.slice(1)) || 'postgres', kind: 'given', close: async () => undefined };
  }
  if (!(await findPostgresBinDir())) {
    throw new Error('the sandbox needs a PostgreSQL to broker access to: install the PostgreSQL server package (e.g. apt-get install postgresql) or set DAB_SANDBOX_TARGET_URL to a superuser URL');
  }
  const cluster = await startThrowawayPostgres({ settings: { log_connections: 'on' } });
  await runSqlOnce(cluster.url('postgres'), 'CREATE DATABASE sandbox');
  return { url: cluster.url('sandbox'), host: cluster.host, port: cluster.port, dbname: 'sandbox', kind: 'throwaway', close: () => cluster.stop() };
}

// What a DBA runs on RDS (BRIEF §2), made idempotent. rds_iam exists on RDS; here we create it.
const SEED_SQL = `
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['rds_iam', 'oltp_ro_role', 'oltp_rw_role'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN EXECUTE format('CREATE ROLE %I NOLOGIN', r); END IF;
  END LOOP;
  FOREACH r IN ARRAY ARRAY['${DEMO_USERS.ro}', '${DEMO_USERS.rw}', '${DEMO_USERS.monitor}'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN EXECUTE format('CREATE ROLE %I LOGIN', r); END IF;
  END LOOP;
END $$;
CREATE SCHEMA IF NOT EXISTS pgdemo;
CREATE TABLE IF NOT EXISTS pgdemo.products (id serial PRIMARY KEY, name text NOT NULL UNIQUE, price_cents integer NOT NULL);
CREATE TABLE IF NOT EXISTS pgdemo.orders (id serial PRIMARY KEY, product_id integer NOT NULL REFERENCES pgdemo.products, quantity integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO pgdemo.products (name, price_cents) VALUES ('teapot', 2500), ('kettle', 4000), ('mug', 900) ON CONFLICT (name) DO NOTHING;
INSERT INTO pgdemo.orders (product_id, quantity) SELECT id, 2 FROM pgdemo.products WHERE NOT EXISTS (SELECT 1 FROM pgdemo.orders);
GRANT USAGE ON SCHEMA pgdemo TO oltp_ro_role, oltp_rw_role;
GRANT SELECT ON ALL TABLES IN SCHEMA pgdemo TO oltp_ro_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pgdemo TO oltp_rw_role;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA pgdemo TO oltp_rw_role;
GRANT rds_iam, oltp_ro_role TO ${DEMO_USERS.ro};
GRANT rds_iam, oltp_rw_role TO ${DEMO_USERS.rw};
GRANT rds_iam, pg_monitor TO ${DEMO_USERS.monitor};
ALTER ROLE ${DEMO_USERS.ro} SET search_path = pgdemo, public;
ALTER ROLE ${DEMO_USERS.rw} SET search_path = pgdemo, public;
`;

/** Seeds schema pgdemo, group roles and one rds_iam login user per access level. */
export async function seedDemoDatabase(url: string): Promise<void> {
  await runSqlOnce(url, SEED_SQL);
}

