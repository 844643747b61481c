// A whole dab on loopback for the abuse benches (slow clients, flood): sandbox STS and IdP, a fresh
// store (DATABASE_URL's server, else embedded), one database, one mapped caller.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app.js';
import { createAssumeRole } from '../src/aws/sts-client.js';
import { parseConfig } from '../src/config/load-config.js';
import { startOidcIssuer, type OidcIssuer } from '../src/sandbox/oidc-issuer.js';
import { startStsEmulator } from '../src/sandbox/sts-emulator.js';
import { migrate } from '../src/store/migrate.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { createBenchDatabase } from './bench-fixtures.js';

const ACCOUNT = '210987654321';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/orders-dab`;
const EXTERNAL_ID = 'bench-orders-ext';
export const MAPPED_SUBJECT = 'app-orders';

export interface AbuseDab {
  url: string;
  port: number;
  app: FastifyInstance;
  store: Store;
  issuer: OidcIssuer;
  storeLabel: string;
  close(): Promise<void>;
}

/** A fresh store for one run: a throwaway database on DATABASE_URL's server, else an embedded store in a temp dir. */
async function benchStoreLocation(serverUrl: string | undefined) {
  if (serverUrl) {
    const db = await createBenchDatabase(serverUrl);
    return { label: db.label, storeConfig: { url: db.url } as Record<string, unknown>, remove: db.remove };
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'dab-abuse-'));
  return { label: `embedded (PGlite in ${dataDir})`, storeConfig: { embedded: true, dataDir } as Record<string, unknown>, remove: () => rm(dataDir, { recursive: true, force: true }) };
}

export async function startAbuseDab(overrides: Record<string, unknown>): Promise<AbuseDab> {
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const location = await benchStoreLocation(process.env.DATABASE_URL);
  const sts = await startStsEmulator({ accountId: ACCOUNT });
  sts.addRole({ arn: ROLE, externalId: EXTERNAL_ID, maxSessionDurationSeconds: 43200 });
  const issuer = await startOidcIssuer();
  const config = parseConfig({
    logLevel: 'warn',
    store: { ...location.storeConfig, poolMax: 10 },
    auth: { issuers: [{ issuer: issuer.issuer, audience: 'dab', jwksUrl: issuer.jwksUrl }], admins: [{ issuer: issuer.issuer, subject: 'dba-bench' }] },
    sts: { endpoint: sts.url },
    audit: { fingerprintKey: randomBytes(32).toString('hex'), sealIntervalSeconds: 0 },
    ...overrides,
  });
  const store = await openStore(config.store, () => undefined);
  await migrate(store);
  const aws = createAssumeRole(config.sts, sts.baseCredentials);
  const app = await buildApp(config, { store, assumeRole: aws.assumeRole });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const admin = await issuer.sign({ sub: 'dba-bench' });
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  };
  await post('/v1/databases', {
    name: 'orders', host: 'orders.cluster-abc123.us-east-1.rds.amazonaws.com', port: 5432, region: 'us-east-1', dbname: 'orders',
    roleArn: ROLE, externalId: EXTERNAL_ID, levels: { ro: { dbUser: 'orders_ro' } },
  });
  await post('/v1/mappings', { principal: { issuer: issuer.issuer, subject: MAPPED_SUBJECT }, database: 'orders', levels: ['ro'] });

  return {
    url, port, app, store, issuer, storeLabel: location.label,
    async close() {
      await app.close();
      aws.destroy();
      await store.close();
      await Promise.all([sts.close(), issuer.close()]);
      await location.remove();
    },
  };
}

/** One real grant; returns its status and latency in ms. */
export async function timedGrant(url: string, bearer: string): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  try {
    const res = await fetch(`${url}/v1/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify({ database: 'orders', access: 'ro' }),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - t0 };
  } catch {
    return { status: 0, ms: performance.now() - t0 };
  }
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export function envInt(name: string, fallback: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[1-9]\d*$/.test(raw) || Number(raw) > max) throw new Error(`${name} must be a whole number from 1 to ${max}, got "${raw}"`);
  return Number(raw);
}
