import type { Checkpoint } from '../audit/checkpoint-signer.js';
import type { VerifyOutcome } from '../audit/verify-chain.js';
import { callDab } from './dab-client.js';

export type { Checkpoint, VerifyOutcome };

export interface VerifyRequest {
  /** Base URL of dab. */
  url: string;
  /** An auditor's bearer JWT, or a function that returns a current one. */
  bearer: string | (() => string | Promise<string>);
  fromId?: number;
  toId?: number;
  /** A saved checkpoint and dab's checkpoint public key (PEM): also catches a recomputed chain. */
  checkpoint?: { checkpoint: Checkpoint; publicKeyPem: string };
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Asks dab to verify its audit log: GET /v1/audit/verify, or POST with a checkpoint. */
export function requestVerification(req: VerifyRequest): Promise<VerifyOutcome> {
  const range = { ...(req.fromId ? { fromId: req.fromId } : {}), ...(req.toId ? { toId: req.toId } : {}) };
  const common = { url: req.url, bearer: req.bearer, ...(req.timeoutMs ? { timeoutMs: req.timeoutMs } : {}), ...(req.fetch ? { fetch: req.fetch } : {}) };
  if (req.checkpoint) {
    return callDab<VerifyOutcome>({ ...common, path: '/v1/audit/verify', method: 'POST', body: { ...range, ...req.checkpoint } });
  }
  const query = new URLSearchParams(Object.entries(range).map(([k, v]): [string, string] => [k, String(v)]));
  return callDab<VerifyOutcome>({ ...common, path: `/v1/audit/verify${String(query) ? `?${query}` : ''}`, method: 'GET' });
}
