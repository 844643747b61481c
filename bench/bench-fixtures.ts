import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOidcIssuer, type OidcIssuer } from '../src/sandbox/oidc-issuer.js';
import { startStsEmulator, type StsEmulator } from '../src/sandbox/sts-emulator.js';
import { runSqlOnce } from '../src/store/run-sql.js';
import type { LoadEntry } from './load-protocol.js';

export const ADMIN_SUBJECT = 'dba-bench';
const ACCOUNT = '210987654321';
const DATABASES = ['orders', 'billing', 'inventory', 'ledger'] as const;
const LEVELS_WITH_OWN_ROLE = ['ro', 'rw'] as const;

const roleArn = (db: string, suffix: string) => `arn:aws:iam::${ACCOUNT}:role/${db}-${suffix}`;
const externalId = (db: string) => `bench-${db}-ext`;

/** A throwaway database on the DATABASE_URL server, so a bench never reads or leaves rows in a real one. */
export interface BenchDatabase {
  label: string;
  url: string;
  remove(): Promise<void>;
}

export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `dab_bench_${randomBytes(6).toString('hex')}`;
  await runSqlOnce(serverUrl, `CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    label: `postgres (${url.host}, database ${name})`,
    url: url.toString(),
    remove: () => runSqlOnce(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** The STS roles the registered databases name: one per level that has its own, plus the database's. */
/**
 * What every bench's dab needs around it, each undone by onCleanup: a temp dir (logs, config, any
 * embedded store), the STS emulator with the bench databases' roles, and a local OIDC issuer.
 */
export async function startBenchSurroundings(onCleanup: (fn: () => unknown) => void, prefix: string): Promise<{ workDir: string; sts: StsEmulator; issuer: OidcIssuer }> {
  const workDir = await mkdtemp(join(tmpdir(), prefix));
  onCleanup(() => rm(workDir, { recursive: true, force: true }));
  const sts = await startStsEmulator();
  onCleanup(() => sts.close());
  addBenchRoles(sts);
  const issuer = await startOidcIssuer();
  onCleanup(() => issuer.close());
  return { workDir, sts, issuer };
}

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

type Mapping = { name: string; principal: { subject: string } | { group: string }; database: string; levels: string[] };

/** The callers of one load mix, the mappings that allow them, and the request variants they send. */
export interface MixPlan {
  callers: CallerPlan[];
  mappings: Mapping[];
}

/**
 * The repeating mix: a spread of callers like a real estate's, each mapped to one or two databases,
 * some by subject (some with ro only, some ro + rw), some only through a team group, some also with
 * monitor access elsewhere. A few hundred variants in rotation, so each comes round several times
 * a second and dab may hand out a token signed earlier in the same second.
 */
export function planRepeating(count: number): MixPlan {
  const callers: CallerPlan[] = [];
  const mappings: Mapping[] = DATABASES.map((db) => ({ name: `team-${db}`, principal: { group: `team-${db}` }, database: db, levels: ['ro'] }));
  for (let i = 0; i < count; i++) {
    const subject = `svc-${String(i).padStart(3, '0')}`;
    const home = DATABASES[i % DATABASES.length]!;
    const plan: CallerPlan = { subject, groups: [], requests: [] };
    if (i % 5 === 0) {
      plan.groups.push(`team-${home}`);
      plan.requests.push({ database: home, access: 'ro' });
    } else {
      const levels = i % 2 ? ['ro'] : ['ro', 'rw'];
      mappings.push({ name: `${subject}-${home}`, principal: { subject }, database: home, levels });
      for (const access of levels) plan.requests.push({ database: home, access });
    }
    if (i % 3 === 0) {
      const other = DATABASES[(i + 1) % DATABASES.length]!;
      mappings.push({ name: `${subject}-${other}`, principal: { subject }, database: other, levels: ['monitor'] });
      plan.requests.push({ database: other, access: 'monitor' });
    }
    callers.push(plan);
  }
  return { callers, mappings };
}

/**
 * The distinct mix: many callers, each mapped by subject to one database at one level and sending
 * one request variant. Every variant is its own STS session (sessions are per caller and role), so
 * dab can reuse a token only if the same variant comes round twice within one wall-clock second:
 * with more variants in rotation than grants per second, it never does, and every grant is signed.
 */
export function planDistinct(count: number): MixPlan {
  const levels = ['ro', 'rw', 'monitor'] as const;
  const callers: CallerPlan[] = [];
  const mappings: Mapping[] = [];
  for (let i = 0; i < count; i++) {
    const subject = `dst-${String(i).padStart(5, '0')}`;
    const database = DATABASES[i % DATABASES.length]!;
    const access = levels[Math.floor(i / DATABASES.length) % levels.length]!;
    mappings.push({ name: subject, principal: { subject }, database, levels: [access] });
    callers.push({ subject, groups: [], requests: [{ database, access }] });
  }
  return { callers, mappings };
}

/**
 * Registers the databases and every mix's mappings with one declarative apply over HTTP (as a DBA
 * applying an access file from git would), then pre-signs one JWT per caller, so signing never
 * happens while load runs. Returns each mix's request variants, in plan order.
 */
export async function registerBenchFixtures(baseUrl: string, issuer: OidcIssuer, mixes: MixPlan[], progress: (what: string) => void): Promise<LoadEntry[][]> {
  const adminToken = await issuer.sign({ sub: ADMIN_SUBJECT }, { expiresIn: '1h' });
  const databases = DATABASES.map((db) => ({
    name: db,
    host: `${db}.cluster-bench01.us-east-1.rds.amazonaws.com`,
    port: 5432,
    region: 'us-east-1',
    dbname: db,
    roleArn: roleArn(db, 'dab'),
    externalId: externalId(db),
    levels: { ro: { dbUser: `${db}_ro`, roleArn: roleArn(db, 'ro') }, rw: { dbUser: `${db}_rw`, roleArn: roleArn(db, 'rw') }, monitor: { dbUser: `${db}_monitor` } },
  }));
  const mappings = mixes.flatMap((mix) => mix.mappings.map(({ principal, ...rest }) => ({ ...rest, principal: { issuer: issuer.issuer, ...principal } })));
  const res = await fetch(`${baseUrl}/v1/admin/apply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ document: { databases, mappings } }),
  });
  if (res.status !== 200) throw new Error(`POST /v1/admin/apply answered ${res.status}: ${(await res.text()).slice(0, 2000)}`);
  await res.arrayBuffer();
  progress(`signing ${mixes.reduce((n, m) => n + m.callers.length, 0)} callers' JWTs`);

  const perMix: LoadEntry[][] = [];
  for (const mix of mixes) {
    // Long enough to outlive warm-ups and runs, so no request meets an expired token. Signed a
    // batch at a time: WebCrypto signs off the main thread, so a batch uses both cores.
    const tokens: string[] = [];
    for (let i = 0; i < mix.callers.length; i += 32) {
      const batch = mix.callers.slice(i, i + 32);
      tokens.push(...(await Promise.all(batch.map((c) => issuer.sign({ sub: c.subject, groups: c.groups }, { expiresIn: '1h' })))));
    }
    perMix.push(mix.callers.flatMap((caller, i) => caller.requests.map((request) => ({ token: tokens[i]!, body: JSON.stringify({ ...request, reason: 'bench' }) }))));
  }
  return perMix;
}

/**
 * A DAB_CONFIG for load on purpose: defaults but the per-identity limits (the load sends each caller
 * more than an app would) and the mint budget (far above 150 new logins/s per endpoint, and all on
 * one replica once another stops while the stopped one's heartbeat still holds a share). The buckets
 * still run on every grant. Returns the file's path.
 */
export async function writeLoadConfig(workDir: string): Promise<string> {
  const configFile = join(workDir, 'dab-load.json');
  await writeFile(configFile, JSON.stringify({
    rateLimit: { caller: { burst: 1_000_000, perSecond: 100_000 }, admin: { burst: 1_000_000, perSecond: 100_000 } },
    mintBudget: { perSecond: 100_000, burst: 1_000_000 },
  }));
  return configFile;
}
