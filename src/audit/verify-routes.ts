import type { KeyObject } from 'node:crypto';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AppError } from '../http/problem.js';
import { errorResponses } from '../http/route-helpers.js';
import type { Queryable } from '../store/store.js';
import type { Checkpointer } from './audit-checkpoints.js';
import { checkSignature, parsePublicKey } from './checkpoint-signer.js';
import { verifyAuditLog, type VerifyOutcome } from './verify-chain.js';
import { Checkpoint, VerifyQuery, VerifyResult, VerifyWithCheckpointBody } from './verify-schema.js';

const tags = ['audit'];
const security = [{ bearer: [] }];

function range(q: { fromId?: number; toId?: number }) {
  if (q.fromId !== undefined && q.toId !== undefined && q.fromId > q.toId) {
    throw new AppError('validation_failed', 'fromId must not be greater than toId', { errors: [{ field: 'fromId', message: 'must not be greater than toId' }] });
  }
  return { ...(q.fromId !== undefined ? { fromId: q.fromId } : {}), ...(q.toId !== undefined ? { toId: q.toId } : {}) };
}

/** Auditor tier: check the seal chain, and fetch signed checkpoints to keep outside the database. */
export interface VerifyRoutesOptions {
  store: Queryable;
  checkpoints: Checkpointer;
  /** dab's own checkpoint public key: GET trusts archive records signed with it. */
  publicKey: KeyObject | undefined;
  /** dab's event MAC key: both routes check every event's MAC with it. */
  macKey: Buffer;
}

// A full verification reads every sealed row: at most this many at once per instance, so auditors
// cannot crowd out the grant path's store connections and CPU.
const MAX_CONCURRENT_VERIFICATIONS = 2;

export const verifyRoutes: FastifyPluginAsyncTypebox<VerifyRoutesOptions> = async (app, { store, checkpoints, publicKey: ownKey, macKey }) => {
  let running = 0;
  async function bounded(run: () => Promise<VerifyOutcome>): Promise<VerifyOutcome> {
    if (running >= MAX_CONCURRENT_VERIFICATIONS) {
      throw new AppError('conflict', `${MAX_CONCURRENT_VERIFICATIONS} verifications are already running on this instance; retry when one finishes`, { retryAfterSeconds: 30 });
    }
    running += 1;
    try {
      return await run();
    } finally {
      running -= 1;
    }
  }

  app.addHook('onRequest', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get('/v1/audit/verify', {
    schema: {
      operationId: 'verifyAuditLog',
      tags,
      security,
      summary: 'Check that the audit log was not edited, deleted from, inserted into or reordered',
      description:
        'Recomputes every seal of the chain and the hashes of the events in the seals overlapping [fromId, toId] (all of them by default), checks the event MAC of every event in [fromId, toId] (sealed or not: a row inserted with the store\'s credentials has none that verifies, and reads as forged), and reports the first broken event by id. 200 either way: read `result` (intact, tampered, unanchored) or `ok`. Events newer than the last seal are counted in unsealedEvents; events archived under a record signed with dab\'s checkpoint key are expected to be gone (see archived); without that key on the server, archived events read as unanchored (cannot be proven either way), never as intact. A database superuser who edits events and recomputes every later seal passes this check; POST a saved checkpoint to catch that.',
      querystring: VerifyQuery,
      response: { 200: VerifyResult, ...errorResponses(400, 401, 403, 409, 503) },
    },
  }, async (request) => {
    const within = { ...range(request.query), macKey, ...(ownKey ? { archiveKey: ownKey } : {}) };
    return bounded(() => verifyAuditLog(store, within));
  });

  app.post('/v1/audit/verify', {
    schema: {
      operationId: 'verifyAuditLogAgainstCheckpoint',
      tags,
      security,
      summary: 'Check the audit log against a saved signed checkpoint',
      description:
        'Everything GET /v1/audit/verify does, and also that the chain still has, at the checkpoint\'s seq, the seal hash dab signed then (checkpoint.status; a mismatch is reported as firstBroken.kind checkpoint_mismatch). The signature (and that of any archive record) is checked with the public key given here, not one the server holds.',
      body: VerifyWithCheckpointBody,
      response: { 200: VerifyResult, ...errorResponses(400, 401, 403, 409, 503) },
    },
  }, async (request): Promise<VerifyOutcome> => {
    const { checkpoint, publicKeyPem } = request.body;
    const publicKey = parsePublicKey(publicKeyPem);
    // Archive records are trusted only under the auditor's key too, never one the server supplies.
    const within = { ...range(request.body), macKey, archiveKey: publicKey };
    if (!checkSignature(checkpoint, publicKey)) {
      const outcome = await bounded(() => verifyAuditLog(store, within));
      return { ...outcome, ok: false, checkpoint: { seq: checkpoint.seq, status: 'signature_invalid' } };
    }
    return bounded(() => verifyAuditLog(store, { ...within, checkpoint }));
  });

  app.get('/v1/audit/checkpoints/latest', {
    schema: {
      operationId: 'getLatestAuditCheckpoint',
      tags,
      security,
      summary: 'A signed checkpoint of the current seal chain head',
      description:
        'Signed with audit.checkpointKeyFile (Ed25519), which the database never holds. Save it somewhere the database administrators cannot write; verify later with POST /v1/audit/verify. 404 when checkpoints are not configured or nothing is sealed yet; 409 when the chain no longer holds the previous checkpoint dab signed (history was rewritten: dab refuses to vouch for it).',
      response: { 200: Checkpoint, ...errorResponses(401, 403, 404, 409, 503) },
    },
  }, async () => checkpoints.latest());
};
