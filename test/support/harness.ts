import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppDependencies } from '../../src/app.js';
import { createAssumeRole } from '../../src/aws/sts-client.js';
import type { Config } from '../../src/config/config-schema.js';
import { parseConfig } from '../../src/config/load-config.js';
import { startOidcIssuer, type OidcIssuer } from '../../src/sandbox/oidc-issuer.js';
import { startStsEmulator, type BaseCredentials, type StsEmulator } from '../../src/sandbox/sts-emulator.js';
import type { Store } from '../../src/store/store.js';
import { openTestStore } from './test-store.js';

export const ACCOUNT = '123456789012';
export const ROLE_RO = `arn:aws:iam::${ACCOUNT}:role/orders-ro`;
export const ROLE_RW = `arn:aws:iam::${ACCOUNT}:role/orders-rw`;
export const ROLE_DB = `arn:aws:iam::${ACCOUNT}:role/orders-dab`;
export const EXTERNAL_ID = 'ext-orders-7f3a9c';
export const ADMIN_SUBJECT = 'dba-alice';
export const AUDITOR_SUBJECT = 'auditor-bob';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Harness {
  app: FastifyInstance;
  store: Store;
  sts: StsEmulator;
  issuer: OidcIssuer;
  config: Config;
  /** Every JSON log line the app wrote. */
  logs: string[];
  /** Shift dab's and the emulator's clock (not the signer's, which always signs with real time). */
  clock: { offsetMs: number; now(): Date };
  token(subject: string, groups?: string[]): Promise<string>;
  adminToken(): Promise<string>;
  /** Registers the standard `orders` database (ro, rw, monitor) and returns its name. */
  registerOrders(overrides?: Record<string, unknown>): Promise<string>;
  /** Maps a subject (or a group, with `group:` prefix) to levels on a database; returns the mapping id. */
  map(who: string, database: string, levels: string[], extra?: Record<string, unknown>): Promise<string>;
  grant(token: string, body: unknown, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  auditRows(where?: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
}

export interface HarnessOptions {
  config?: (base: Record<string, any>) => void;
  deps?: Partial<AppDependencies>;
  /** Wraps the store the app gets (e.g. to hold its audit INSERTs); `Harness.store` stays the real one. */
  wrapStore?: (store: Store) => Store;
  /** More base credentials for the STS emulator (after dab's own), e.g. AWS callers' identities. */
  stsBaseCredentials?: BaseCredentials[];
}

/** A whole dab on loopback: real store, STS emulator, OIDC issuer, through buildApp + inject. */
export async function startHarness(t: Teardown, opts: HarnessOptions = {}): Promise<Harness> {
  const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };
  const testStore = await openTestStore();
  const sts = await startStsEmulator({
    now: clock.now,
    accountId: ACCOUNT,
    ...(opts.stsBaseCredentials ? { baseCredentials: [{ accessKeyId: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`, secretAccessKey: randomBytes(30).toString('base64') }, ...opts.stsBaseCredentials] } : {}),
  });
  for (const arn of [ROLE_RO, ROLE_RW, ROLE_DB]) sts.addRole({ arn, externalId: EXTERNAL_ID, maxSessionDurationSeconds: 43200 });
  const issuer = await startOidcIssuer();

  const raw: Record<string, any> = {
    logLevel: 'info',
    auth: {
      issuers: [{ issuer: issuer.issuer, audience: 'dab', jwksUrl: issuer.jwksUrl, algorithms: ['RS256'] }],
      admins: [{ issuer: issuer.issuer, subject: ADMIN_SUBJECT }],
      auditors: [{ issuer: issuer.issuer, subject: AUDITOR_SUBJECT }],
      jwksCooldownSeconds: 30,
    },
    sts: { region: 'us-east-1', endpoint: sts.url, requestTimeoutMs: 500, connectionTimeoutMs: 500, maxAttempts: 2, deadlineMs: 3000 },
    audit: { fingerprintKey: randomBytes(32).toString('hex') },
  };
  opts.config?.(raw);
  const config = parseConfig(raw);

  const logs: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const aws = createAssumeRole(config.sts, sts.baseCredentials);
  const appStore = opts.wrapStore ? opts.wrapStore(testStore.store) : testStore.store;
  const app = await buildApp(config, { store: appStore, assumeRole: aws.assumeRole, now: clock.now, logStream, ...opts.deps });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    aws.destroy();
    await Promise.all([sts.close(), issuer.close()]);
    await testStore.close();
  });

  const token = (subject: string, groups: string[] = []) => issuer.sign({ sub: subject, groups });
  const adminToken = () => token(ADMIN_SUBJECT);
  const admin = async (method: 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) => {
    const res = await app.inject({ method, url, payload: payload as object, headers: { authorization: `Bearer ${await adminToken()}` } });
    if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`);
    return res.json();
  };

  return {
    app,
    store: testStore.store,
    sts,
    issuer,
    config,
    logs,
    clock,
    token,
    adminToken,
    async registerOrders(overrides = {}) {
      const body = {
        name: 'orders',
        host: 'orders.cluster-abc123.us-east-1.rds.amazonaws.com',
        port: 5432,
        region: 'us-east-1',
        dbname: 'orders',
        roleArn: ROLE_DB,
        externalId: EXTERNAL_ID,
        levels: { ro: { dbUser: 'orders_ro', roleArn: ROLE_RO }, rw: { dbUser: 'orders_rw', roleArn: ROLE_RW }, monitor: { dbUser: 'orders_monitor' } },
        ...overrides,
      };
      await admin('POST', '/v1/databases', body);
      return body.name;
    },
    async map(who, database, levels, extra = {}) {
      const principal = who.startsWith('group:') ? { issuer: issuer.issuer, group: who.slice(6) } : { issuer: issuer.issuer, subject: who };
      return (await admin('POST', '/v1/mappings', { principal, database, levels, ...extra })).id as string;
    },
    grant: (bearer, body, headers = {}) =>
      app.inject({ method: 'POST', url: '/v1/credentials', payload: body as object, headers: { authorization: `Bearer ${bearer}`, ...headers } }),
    async auditRows(where = 'true', params = []) {
      return (await testStore.store.query(`SELECT * FROM audit_events WHERE ${where} ORDER BY id`, params)).rows;
    },
  };
}
