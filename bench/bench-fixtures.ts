import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OidcIssuer } from '../src/sandbox/oidc-issuer.js';
import { runSqlOnce } from '../src/store/run-sql.js';
import type { StsEmulator } from '../src/sandbox/sts-emulator.js';
import type { LoadEntry } from './load-protocol.js';

export const ADMIN_SUBJECT = 'dba-bench';
const ACCOUNT = '210987654321';
const DATABASES = ['orders', 'billing', 'inventory', 'ledger'] as const;
const LEVELS_WITH_OWN_ROLE = ['ro', 'rw'] as const;

const roleArn = (db: string, suffix: string) => `arn:aws:iam::${ACCOUNT}:role/${db}-${suffix}`;
const externalId = (db: string) => `bench-${db}-ext`;

/** Where the bench keeps its data, and how to get rid of it afterwards. */
export interface BenchStoreLocation {
  label: string;
  /** The `store` section of dab's config. */
  storeConfig: { url: string } | { embedded: true; dataDir: string };
  remove(): Promise<void>;
}

/**
 * A fresh, empty place for the store: a throwaway database on the DATABASE_URL server (so a
 * bench never reads or leaves rows in a real one), otherwise a temp dir for the embedded store.
 */
export async function benchStoreLocation(serverUrl: string | undefined): Promise<BenchStoreLocation> {
  if (!serverUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'dab-bench-'));
    return { label: `embedded (PGlite in ${dataDir}, in the bench process)`, storeConfig: { embedded: true, dataDir }, remove: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = `dab_bench_${randomBytes(6).toString('hex')}`;
  await runSqlOnce(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    label: `postgres (${url.host}, database ${name})`,
    storeConfig: { url: url.toString() },
    remove: () => runSqlOnce(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** The STS roles the registered databases name: one per level that has its own, plus the database's. */
export function addBenchRoles(sts: StsEmulator): void {
  for (const db of DATABASES) {
    for (const suffix of ['dab', ...LEVELS_WITH_OWN_ROLE]) {
      sts.addRole({ arn: roleArn(db, suffix), externalId: externalId(db), maxSessionDurationSeconds: 43200 });
    }
  }
}

interface CallerPlan {
  subject: string;
  groups: string[];
  requests: Array<{ database: string; access: string }>;
}

/**
 * A spread of callers like a real estate's: each mapped to one or two databases, some by subject
 * (some with ro only, some ro + rw), some only through a team group, some also with monitor
 * access elsewhere. Every planned request is allowed, so any non-2xx is a bench or broker fault.
 */
function planCallers(count: number): { callers: CallerPlan[]; mappings: object[] } {
  const callers: CallerPlan[] = [];
  const mappings: object[] = DATABASES.map((db) => ({ principal: { group: `team-${db}` }, database: db, levels: ['ro'] }));
  for (let i = 0; i < count; i++) {
    const subject = `svc-${String(i).padStart(3, '0')}`;
    const home = DATABASES[i % DATABASES.length]!;
    const plan: CallerPlan = { subject, groups: [], requests: [] };
    if (i % 5 === 0) {
      plan.groups.push(`team-${home}`);
      plan.requests.push({ database: home, access: 'ro' });
    } else {
      const levels = i % 2 ? ['ro'] : ['ro', 'rw'];
      mappings.push({ principal: { subject }, database: home, levels });
      for (const access of levels) plan.requests.push({ database: home, access });
    }
    if (i % 3 === 0) {
      const other = DATABASES[(i + 1) % DATABASES.length]!;
      mappings.push({ principal: { subject }, database: other, levels: ['monitor'] });
      plan.requests.push({ database: other, access: 'monitor' });
    }
    callers.push(plan);
  }
  return { callers, mappings };
}

/**
 * Registers the databases and mappings through dab's admin API over HTTP (as a DBA would) and
 * pre-signs one JWT per caller, so signing never happens while load runs.
 */
export async function registerBenchFixtures(baseUrl: string, issuer: OidcIssuer, callerCount: number): Promise<{ entries: LoadEntry[]; callers: number }> {
  const adminToken = await issuer.sign({ sub: ADMIN_SUBJECT }, { expiresIn: '1h' });
  const post = async (path: string, body: object) => {
    const res = await fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${await res.text()}`);
  };

  for (const db of DATABASES) {
    await post('/v1/databases', {
      name: db,
      host: `${db}.cluster-bench01.us-east-1.rds.amazonaws.com`,
      port: 5432,
      region: 'us-east-1',
      dbname: db,
      roleArn: roleArn(db, 'dab'),
      externalId: externalId(db),
      levels: { ro: { dbUser: `${db}_ro`, roleArn: roleArn(db, 'ro') }, rw: { dbUser: `${db}_rw`, roleArn: roleArn(db, 'rw') }, monitor: { dbUser: `${db}_monitor` } },
    });
  }
  const { callers, mappings } = planCallers(callerCount);
  const withIssuer = (m: object) => {
    const { principal, ...rest } = m as { principal: object };
    return { principal: { issuer: issuer.issuer, ...principal }, ...rest };
  };
  // A few at a time: setup speed matters little, but 300 sequential round trips add up.
  for (let i = 0; i < mappings.length; i += 8) await Promise.all(mappings.slice(i, i + 8).map((m) => post('/v1/mappings', withIssuer(m))));

  const entries: LoadEntry[] = [];
  for (const caller of callers) {
    // Long enough to outlive warm-ups and runs, so no request meets an expired token.
    const token = await issuer.sign({ sub: caller.subject, groups: caller.groups }, { expiresIn: '1h' });
    for (const request of caller.requests) entries.push({ token, body: JSON.stringify({ ...request, reason: 'bench' }) });
  }
  return { entries, callers: callers.length };
}
