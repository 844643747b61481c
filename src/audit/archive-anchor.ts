import type { KeyObject } from 'node:crypto';
import type { Queryable } from '../store/store.js';
import { checkArchiveSignature, type ArchiveRecord } from './checkpoint-signer.js';
import { sealAt } from './seal-repo.js';

/**
 * Where archived history ends, as far as verification may believe: the furthest `audit.archived`
 * record whose signature verifies with the given key (one the database does not hold) and whose
 * seal is still in the chain. Events of seals up to `throughSeq` are expected to be gone (they
 * live in the archive file); without a trusted record their absence reads as deletion.
 */
export interface ArchiveAnchor {
  throughSeq: number;
  lastId: number;
  record: ArchiveRecord;
}

/** The furthest archive whose signed record verifies with `publicKey` and whose seal is still in the chain. */
export async function archiveAnchor(db: Queryable, publicKey: KeyObject | undefined): Promise<ArchiveAnchor | undefined> {
  if (!publicKey) return undefined;
  return furthestArchive(db, (record) => checkArchiveSignature(record, publicKey));
}

/**
 * The furthest archive record whose seal is still in the chain, signature unchecked: what a server
 * without the checkpoint key can see. It may explain missing history, but proves nothing, so
 * verification reports the log as unanchored (not intact, not tampered) when it is all that explains it.
 */
export async function unverifiedArchiveClaim(db: Queryable): Promise<ArchiveAnchor | undefined> {
  return furthestArchive(db, () => true);
}

async function furthestArchive(db: Queryable, trusted: (record: ArchiveRecord) => boolean): Promise<ArchiveAnchor | undefined> {
  const { rows } = await db.query<{ details: { archive?: ArchiveRecord } | null }>("SELECT details FROM audit_events WHERE event_type = 'audit.archived' ORDER BY id");
  let best: ArchiveAnchor | undefined;
  for (const { details } of rows) {
    const record = details?.archive;
    if (!record || typeof record.throughSeq !== 'number' || (best && record.throughSeq <= best.throughSeq) || !trusted(record)) continue;
    const seal = await sealAt(db, record.throughSeq);
    if (seal?.sealHash === record.sealHash && seal.lastId === record.lastId) best = { throughSeq: record.throughSeq, lastId: record.lastId, record };
  }
  return best;
}
