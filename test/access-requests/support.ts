import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { createAssumeRole } from '../../src/aws/sts-client.js';
import type { Harness } from '../support/harness.js';

/** The policy most tests use: group "apps" may request rw on orders; dba-alice or group "oncall" approve. */
export function ordersPolicy(issuer: string, extra: Record<string, unknown> = {}) {
  return {
    name: 'orders-jit',
    requesters: [{ issuer, group: 'apps' }],
    database: 'orders',
    levels: ['rw'],
    approvers: [{ issuer, subject: 'dba-alice' }, { issuer, group: 'oncall' }],
    maxDurationSeconds: 3600,
    pendingTimeoutSeconds: 600,
    breakGlass: { maxDurationSeconds: 900 },
    ...extra,
  };
}

export async function applyPolicies(h: Harness, policies: unknown[], dryRun = false): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: 'POST', url: '/v1/admin/apply', headers: { authorization: `Bearer ${await h.adminToken()}` }, payload: { document: { requestPolicies: policies }, dryRun } });
}

/** A caller-tier call as `subject` (member of `groups`). */
export async function as(h: Harness, subject: string, groups: string[], method: 'GET' | 'POST', url: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return h.app.inject({ method, url, headers: { authorization: `Bearer ${await h.token(subject, groups)}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
}

/** Another dab instance on the harness's store (a second replica, or the same one after a restart). */
export async function secondApp(t: { teardown(fn: () => unknown): void }, h: Harness): Promise<FastifyInstance> {
  const aws = createAssumeRole(h.config.sts, h.sts.baseCredentials);
  const app = await buildApp(h.config, { store: h.store, assumeRole: aws.assumeRole, now: h.clock.now, logStream: { write: () => true } as never });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    aws.destroy();
  });
  return app;
}
