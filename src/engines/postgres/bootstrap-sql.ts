import { ACCESS_LEVELS, type AccessLevel } from '../../databases/access-levels.js';
import type { Database } from '../../databases/database-schema.js';
import { MAX_IDENTIFIER_BYTES, dollarQuote, quoteIdent, quoteLiteral } from '../../bootstrap/sql-quote.js';

// The SQL a DBA runs once per database (BRIEF §2): privileges live in NOLOGIN group roles, and each
// access level's login user gets its group role plus rds_iam. Safe to run again: roles are created
// only when missing, and GRANT / ALTER DEFAULT PRIVILEGES change nothing the second time.

export interface BootstrapTarget {
  name: string;
  host: string;
  port: number;
  dbname: string;
  levels: Database['levels'];
}

const ROLE_SUFFIX = '_role';

const truncated = (name: string, room: number): string => {
  let out = name;
  while (Buffer.byteLength(out, 'utf8') > room) out = out.slice(0, -1);
  return out;
};

/** `orders_ro_user` → `orders_ro_role`, `orders_ro` → `orders_ro_role`; at most 63 bytes. */
export function groupRoleName(dbUser: string): string {
  const base = dbUser.endsWith('_user') ? dbUser.slice(0, -'_user'.length) : dbUser;
  return `${truncated(base, MAX_IDENTIFIER_BYTES - ROLE_SUFFIX.length)}${ROLE_SUFFIX}`;
}

/** The group role of each defined level: derived from its DB user, never clashing with a login user or another group. */
export function groupRoles(levels: Database['levels']): Map<AccessLevel, string> {
  const users = new Set(ACCESS_LEVELS.flatMap((l) => (levels[l] ? [levels[l].dbUser] : [])));
  const out = new Map<AccessLevel, string>();
  const taken = new Set<string>();
  for (const level of ACCESS_LEVELS) {
    const spec = levels[level];
    if (!spec) continue;
    let name = groupRoleName(spec.dbUser);
    if (users.has(name) || taken.has(name)) {
      const suffix = `_${level}${ROLE_SUFFIX}`;
      name = `${truncated(spec.dbUser, MAX_IDENTIFIER_BYTES - suffix.length)}${suffix}`;
    }
    taken.add(name);
    out.set(level, name);
  }
  return out;
}

const PURPOSE: Record<AccessLevel, string> = {
  ro: 'read only: USAGE on the schemas, SELECT on their tables (now and, by default privileges, later)',
  rw: 'read and write: SELECT, INSERT, UPDATE, DELETE on tables, USAGE and SELECT on sequences (now and later)',
  monitor: 'monitoring: pg_monitor (statistics and activity views, PostgreSQL 10+); no table access',
};

/** A DO block that creates the role only when it does not exist yet. */
function createRoleIfMissing(role: string, login: boolean): string {
  const body = [
    'BEGIN',
    `  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role)}) THEN`,
    `    CREATE ROLE ${quoteIdent(role)} ${login ? 'LOGIN' : 'NOLOGIN'};`,
    ...(login ? ['  ELSE', `    ALTER ROLE ${quoteIdent(role)} LOGIN;`] : []),
    '  END IF;',
    'END',
  ].join('\n');
  return `DO ${dollarQuote(body)};`;
}

/**
 * rds_iam turns password logins off for good: refuse to do that to a superuser or the RDS master
 * user (a member of rds_superuser), who would then be locked out of password login.
 */
function refuseAdminUser(user: string): string {
  const message = `dab bootstrap: refusing to grant rds_iam to ${user}: it is a superuser or member of rds_superuser, and would be locked out of password login; register a dedicated login user for this level`;
  const body = [
    'BEGIN',
    `  IF EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = ${quoteLiteral(user)} AND (r.rolsuper OR EXISTS (`,
    "      SELECT 1 FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE g.rolname = 'rds_superuser' AND m.member = r.oid))) THEN",
    `    RAISE EXCEPTION '%', ${quoteLiteral(message)};`,
    '  END IF;',
    'END',
  ].join('\n');
  return `DO ${dollarQuote(body)};`;
}

function privileges(level: AccessLevel, group: string, schemas: readonly string[]): string[] {
  const g = quoteIdent(group);
  if (level === 'monitor') return [`GRANT pg_monitor TO ${g};`];
  const lines: string[] = [];
  for (const schema of schemas) {
    const s = quoteIdent(schema);
    lines.push(`GRANT USAGE ON SCHEMA ${s} TO ${g};`);
    if (level === 'ro') {
      lines.push(`GRANT SELECT ON ALL TABLES IN SCHEMA ${s} TO ${g};`);
      lines.push(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT ON TABLES TO ${g};`);
    } else {
      lines.push(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${g};`);
      lines.push(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${g};`);
      lines.push(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${g};`);
      lines.push(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT USAGE, SELECT ON SEQUENCES TO ${g};`);
    }
  }
  return lines;
}

/** The whole script for one database; `schemas` are the schemas ro and rw are granted on. */
export function bootstrapSql(db: BootstrapTarget, schemas: readonly string[]): string {
  const groups = groupRoles(db.levels);
  // A comment must stay one line whatever a name holds.
  const shown = (name: string) => quoteIdent(name).replace(/[\r\n]/g, ' ');
  const out: string[] = [
    `-- dab bootstrap for database ${db.name}: ${db.host}:${db.port}, database ${shown(db.dbname)}`,
    `-- Run it as the master user (rds_superuser), connected to database ${shown(db.dbname)}, e.g.`,
    `--   psql "host=${db.host} port=${db.port} dbname=${db.dbname} user=<master user> sslmode=require" -f ${db.name}.sql`,
    '-- It is idempotent: roles are created only when missing and GRANTs repeat harmlessly, so it is',
    '-- safe to run again (after adding a level or a schema, say). It runs in one transaction.',
    `-- Schemas granted on: ${schemas.map(shown).join(', ')}`,
    '--',
    '-- rds_iam exists only on Amazon RDS / Aurora. On plain PostgreSQL (a local test setup), create it',
    '-- first by running the next line uncommented:',
    '-- CREATE ROLE rds_iam NOLOGIN;',
    '-- A user granted rds_iam can log in only with an IAM auth token (no password fallback).',
    '--',
    '-- Default privileges cover tables and sequences created later by the role running this script.',
    '-- If another role creates them (a migration owner, say), run the ALTER DEFAULT PRIVILEGES lines',
    '-- as that role too, or add FOR ROLE <owner> to them.',
    '',
    'BEGIN;',
  ];
  for (const level of ACCESS_LEVELS) {
    const spec = db.levels[level];
    const group = groups.get(level);
    if (!spec || !group) continue;
    const user = spec.dbUser;
    out.push(
      '',
      `-- ${level}: group role ${shown(group)} holds the privileges, ${PURPOSE[level]}`,
      createRoleIfMissing(group, false),
      `GRANT CONNECT ON DATABASE ${quoteIdent(db.dbname)} TO ${quoteIdent(group)};`,
      ...privileges(level, group, schemas),
      `-- ${level}: login user ${shown(user)} logs in with IAM tokens only (rds_iam) and gets the group role`,
      refuseAdminUser(user),
      createRoleIfMissing(user, true),
      `GRANT rds_iam TO ${quoteIdent(user)};`,
      `GRANT ${quoteIdent(group)} TO ${quoteIdent(user)};`,
    );
  }
  out.push('', 'COMMIT;', '');
  return out.join('\n');
}
