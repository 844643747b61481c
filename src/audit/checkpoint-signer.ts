import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load-config.js';
import { AppError } from '../http/problem.js';

/**
 * A signed statement "at time `at`, the seal chain's entry `seq` had hash `sealHash` and covered
 * ids up to `lastId`". Signed with an Ed25519 key the database never sees, so a database superuser
 * who rewrites history and recomputes every later seal still cannot produce a matching checkpoint.
 */
export interface Checkpoint {
  version: 1;
  seq: number;
  sealHash: string;
  lastId: number;
  at: string;
  /** First 16 hex digits of SHA-256 over the public key (SPKI DER): which key to check with. */
  keyId: string;
  /** Ed25519 signature over checkpointPayload, base64. */
  signature: string;
}

export type CheckpointStatement = Pick<Checkpoint, 'seq' | 'sealHash' | 'lastId' | 'at' | 'keyId'>;

/** The exact bytes signed: a domain-separation tag, then the fields as a JSON array (fixed order). */
export function checkpointPayload(c: CheckpointStatement): Buffer {
  return Buffer.from(`dab-checkpoint-v1\n${JSON.stringify([c.seq, c.sealHash, c.lastId, c.at, c.keyId])}`);
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/**
 * The record `dab audit archive` leaves in the log: "seals up to `throughSeq` (events up to
 * `lastId`) were archived to a file with this SHA-256". Signed under its own domain tag, so a
 * checkpoint (which dab publishes freely) can never be passed off as one, and a database superuser
 * cannot forge one to make deleted history look archived.
 */
export interface ArchiveRecord {
  version: 1;
  throughSeq: number;
  sealHash: string;
  lastId: number;
  events: number;
  fileSha256: string;
  at: string;
  keyId: string;
  signature: string;
}

export function archivePayload(a: Omit<ArchiveRecord, 'version' | 'signature'>): Buffer {
  return Buffer.from(`dab-archive-v1\n${JSON.stringify([a.throughSeq, a.sealHash, a.lastId, a.events, a.fileSha256, a.at, a.keyId])}`);
}

export interface CheckpointKey {
  keyId: string;
  publicKey: KeyObject;
  sign(statement: Omit<CheckpointStatement, 'keyId'>): Checkpoint;
  signArchive(statement: Omit<ArchiveRecord, 'version' | 'keyId' | 'signature'>): ArchiveRecord;
  /** True when this key's public half verifies the checkpoint (used to resume after a restart). */
  verifies(c: Checkpoint): boolean;
}

/** Reads audit.checkpointKeyFile: a PEM Ed25519 private key. Start-up stops with a message naming the setting. */
export function loadCheckpointKey(path: string): CheckpointKey {
  const field = 'config audit.checkpointKeyFile (DAB_AUDIT_CHECKPOINT_KEY_FILE)';
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new ConfigError(`${field}: ${path} is not a PEM private key`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new ConfigError(`${field}: ${path} holds a ${privateKey.asymmetricKeyType ?? 'non-asymmetric'} key; an Ed25519 key is required (openssl genpkey -algorithm ed25519)`);
  }
  const publicKey = createPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  return {
    keyId,
    publicKey,
    sign(statement) {
      const full = { ...statement, keyId };
      return { version: 1, ...full, signature: sign(null, checkpointPayload(full), privateKey).toString('base64') };
    },
    signArchive(statement) {
      const full = { ...statement, keyId };
      return { version: 1, ...full, signature: sign(null, archivePayload(full), privateKey).toString('base64') };
    },
    verifies: (c) => checkSignature(c, publicKey),
  };
}

/** Parses an auditor-supplied public key; a bad one is the request's fault (400), not a broken log. */
export function parsePublicKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new AppError('validation_failed', 'publicKeyPem is not a PEM public key', { errors: [{ field: 'publicKeyPem', message: 'not a PEM public key' }] });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new AppError('validation_failed', 'publicKeyPem must be an Ed25519 key', { errors: [{ field: 'publicKeyPem', message: 'must be an Ed25519 key' }] });
  }
  return key;
}

export function checkSignature(c: Checkpoint, publicKey: KeyObject): boolean {
  return verifies(c, checkpointPayload, publicKey);
}

export function checkArchiveSignature(a: ArchiveRecord, publicKey: KeyObject): boolean {
  return verifies(a, archivePayload, publicKey);
}

function verifies<T extends { keyId: string; signature: string }>(signed: T, payload: (s: T) => Buffer, publicKey: KeyObject): boolean {
  try {
    return signed.keyId === keyIdOf(publicKey) && verify(null, payload(signed), publicKey, Buffer.from(signed.signature, 'base64'));
  } catch {
    // A malformed record (missing fields, bad base64) simply does not verify.
    return false;
  }
}
