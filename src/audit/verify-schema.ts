import { Type, type Static } from 'typebox';

// Shapes of the tamper-evidence API: verification results and signed checkpoints.

// Event ids and seal numbers are bigints, read as JS numbers: bounded where a number stays exact
// (2^53 - 1), so 2^63 in a query is a 400, not a bigint overflow (500) in the store.
const Id = (description: string) => Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description });
const Hash = Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256, hex' });

const RangeProperties = {
  fromId: Type.Optional(Id('First event id to check (widened to the start of its seal)')),
  toId: Type.Optional(Id('Last event id to check (widened to the end of its seal)')),
};

export const VerifyQuery = Type.Object(RangeProperties, { additionalProperties: false });
export type VerifyQuery = Static<typeof VerifyQuery>;

export const Checkpoint = Type.Object(
  {
    version: Type.Literal(1),
    seq: Id('Seal sequence number the checkpoint vouches for'),
    sealHash: Hash,
    lastId: Id('Last event id that seal covers'),
    at: Type.String({ format: 'date-time', description: 'When dab signed it' }),
    keyId: Type.String({ pattern: '^[0-9a-f]{16}$', description: 'First 16 hex digits of SHA-256 over the public key (SPKI DER)' }),
    signature: Type.String({ pattern: '^[A-Za-z0-9+/]{86}==$', description: 'Ed25519 signature, base64' }),
  },
  { additionalProperties: false, description: 'A signed statement of the seal chain head; save it where the database cannot reach' },
);

export const VerifyWithCheckpointBody = Type.Object(
  {
    ...RangeProperties,
    checkpoint: Checkpoint,
    publicKeyPem: Type.String({ minLength: 1, maxLength: 4096, description: "dab's checkpoint public key (PEM, Ed25519), obtained out of band" }),
  },
  { additionalProperties: false },
);
export type VerifyWithCheckpointBody = Static<typeof VerifyWithCheckpointBody>;

const KINDS = ['edited', 'deleted', 'inserted', 'reordered', 'forged', 'chain_broken', 'checkpoint_mismatch'] as const;

export const VerifyResult = Type.Object({
  ok: Type.Boolean({ description: 'True only when result is intact (and the checkpoint, if given, matched)' }),
  result: Type.Enum(['intact', 'tampered', 'unanchored'], {
    description:
      'intact: everything checked holds. tampered: see firstBroken. unanchored: nothing checked is broken, but events are missing under an audit.archived record whose signature this verification cannot check (GET on a server without audit.checkpointKeyFile): an archive cannot be told from a deletion there; see unanchored, and verify with the checkpoint public key (POST)',
  }),
  checkedEvents: Type.Integer({ description: 'Events whose content was checked against their seal' }),
  checkedSeals: Type.Integer({ description: 'Seals whose events were all checked (every seal header is always chain-checked)' }),
  firstBroken: Type.Optional(
    Type.Object({
      id: Type.Union([Type.Integer(), Type.Null()], { description: 'Lowest broken event id; null for checkpoint_mismatch (a recomputed chain hides which one)' }),
      kind: Type.Enum([...KINDS], {
        description: 'edited: content differs; deleted: a sealed event is gone; inserted: an event appeared inside a sealed range; reordered: an event holds another sealed event\'s content; forged: an event (sealed or not) has no valid event MAC, so dab did not write it; chain_broken: a seal was changed, removed or reordered; checkpoint_mismatch: the chain no longer matches a signed checkpoint',
      }),
      sealSeq: Type.Integer({ description: 'The seal the broken event or link belongs to (0: below every seal; head seq + 1: not sealed yet)' }),
      detail: Type.String(),
    }),
  ),
  unsealedEvents: Type.Integer({ description: 'Events newer than the last seal: not yet covered (not an error)' }),
  head: Type.Union([Type.Object({ seq: Type.Integer(), sealHash: Hash, lastId: Type.Integer() }), Type.Null()], { description: 'The last seal; null when nothing is sealed yet' }),
  archived: Type.Union([Type.Object({ throughSeq: Type.Integer(), lastId: Type.Integer() }), Type.Null()], {
    description: 'Seals up to throughSeq (events up to lastId) were archived under a signed audit.archived record: their events live in the archive file, not the table',
  }),
  eventMacs: Type.Union([Type.Object({ checked: Type.Integer(), writtenBefore: Type.Integer() }), Type.Null()], {
    description: 'Events in the range whose MAC (a key the database does not hold) was checked, and those written before event MACs existed (migration 007; counted, not tampering). Null when not checked',
  }),
  unanchored: Type.Optional(
    Type.Object(
      { throughSeq: Type.Integer(), lastId: Type.Integer(), detail: Type.String() },
      { description: 'With result unanchored: the unauthenticated archive record that would explain the missing events' },
    ),
  ),
  checkpoint: Type.Optional(
    Type.Object({
      seq: Type.Integer(),
      status: Type.Enum(['matched', 'mismatch', 'signature_invalid'], {
        description: 'signature_invalid: the checkpoint was not signed by this public key (wrong key, or an altered checkpoint); nothing is concluded about the log',
      }),
    }),
  ),
});
