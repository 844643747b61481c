import type { KeyObject } from 'node:crypto';
import type { Queryable } from '../store/store.js';
import { archiveAnchor, unverifiedArchiveClaim } from './archive-anchor.js';
import { computeSealHash, GENESIS_HASH, gapSize, ROW_HASH_BYTES, rowsDigest, SEAL_FORMATS } from './audit-canonical.js';
import { countUnsealed, readRowHashes, readSeals, sealAt, sealHead, type Seal } from './seal-repo.js';
import { checkEventMacs } from './verify-macs.js';

export type BrokenKind = 'edited' | 'deleted' | 'inserted' | 'reordered' | 'forged' | 'chain_broken' | 'checkpoint_mismatch';

/**
 * intact: everything checked holds. tampered: see firstBroken. unanchored: nothing checked is
 * broken, but events are missing under an archive record this verification cannot authenticate
 * (no checkpoint public key to check its signature with): an archive and a deletion look alike.
 */
export type VerifyResultKind = 'intact' | 'tampered' | 'unanchored';

export interface BrokenEvent {
  /** The first event (by id) that no longer matches; null when only a checkpoint can tell (a recomputed chain). */
  id: number | null;
  kind: BrokenKind;
  sealSeq: number;
  detail: string;
}

export interface VerifyOutcome {
  /** True only when result is intact (and the checkpoint, if given, matched). */
  ok: boolean;
  result: VerifyResultKind;
  checkedEvents: number;
  checkedSeals: number;
  firstBroken?: BrokenEvent;
  unsealedEvents: number;
  head: { seq: number; sealHash: string; lastId: number } | null;
  /** Seals up to throughSeq were archived (a signed audit.archived record): their events live in the archive file. */
  archived: { throughSeq: number; lastId: number } | null;
  checkpoint?: { seq: number; status: 'matched' | 'mismatch' | 'signature_invalid' };
  /** Event MACs in the range: checked and matched, or absent because written before MACs existed. Null when not checked (no key). */
  eventMacs: { checked: number; writtenBefore: number } | null;
  /** With result unanchored: the archive record that would explain the missing events, were it authenticated. */
  unanchored?: { throughSeq: number; lastId: number; detail: string };
}

export interface VerifyOptions {
  fromId?: number;
  toId?: number;
  /** A saved checkpoint whose signature the caller already checked. */
  checkpoint?: { seq: number; sealHash: string; lastId: number };
  /** The checkpoint public key, to trust signed archive records; without it archived events read as deleted. */
  archiveKey?: KeyObject;
  /** dab's event MAC key: rows without a valid MAC (from migration 007 on) are reported as forged. */
  macKey?: Buffer;
}

/**
 * Verifies the log: every seal's header and its link to the previous seal (the whole chain, up to
 * the head as it was when verification started), and, for seals overlapping [fromId, toId], every
 * row against the seal's row hashes. Stops at the first problem; reads seals and rows in pages,
 * so memory stays flat however long the log.
 */
export async function verifyAuditLog(db: Queryable, opts: VerifyOptions = {}): Promise<VerifyOutcome> {
  const from = opts.fromId ?? 1;
  const to = opts.toId ?? Number.MAX_SAFE_INTEGER;
  const top = await sealHead(db);
  const trusted = await archiveAnchor(db, opts.archiveKey);
  // Without a key to check archive records with, an unchecked one may still explain missing history:
  // the walk then runs as if it were trusted, and a clean walk reads "unanchored", never "intact".
  const claim = opts.archiveKey ? undefined : await unverifiedArchiveClaim(db);
  const anchor = trusted ?? claim;
  // Archived ranges must be empty: the lowest event still there (a forgery) is found in the walk.
  const stray = anchor ? await lowestIdUpTo(db, anchor.lastId) : undefined;
  let checkedEvents = 0;
  let checkedSeals = 0;
  let firstBroken: BrokenEvent | undefined;
  let prev: Seal | undefined;
  // The sequence starts at 1 and seal 1 covers from 1, so a row below that can only be forged.
  const below = await lowestIdUpTo(db, 0);
  if (below !== undefined) firstBroken = { id: below, kind: 'inserted', sealSeq: 0, detail: `event ${below} is below the first id any seal or the sequence can cover` };

  if (top && !firstBroken) {
    for await (const seal of readSeals(db, from, to)) {
      if (seal.seq > top.seq) break;
      const expectedSeq = (prev?.seq ?? 0) + 1;
      const expectedFirst = (prev?.lastId ?? 0) + 1;
      const problem = headerProblem(seal, prev);
      if (problem) {
        firstBroken = { id: expectedFirst, kind: 'chain_broken', sealSeq: expectedSeq, detail: problem };
        break;
      }
      if (anchor && seal.seq <= anchor.throughSeq) {
        if (stray !== undefined && seal.firstId <= stray && stray <= seal.lastId) {
          firstBroken = { id: stray, kind: 'inserted', sealSeq: seal.seq, detail: `event ${stray} is inside seal ${seal.seq}, which was archived` };
          break;
        }
      } else if (seal.rowHashes) {
        const rows = await checkRows(db, seal);
        checkedEvents += rows.checked;
        if (rows.broken) {
          firstBroken = rows.broken;
          break;
        }
        checkedSeals += 1;
      }
      prev = seal;
    }
    // The head itself may be gone (seals deleted from the end): the walk then ends early.
    if (!firstBroken && prev?.seq !== top.seq) {
      const expectedFirst = (prev?.lastId ?? 0) + 1;
      firstBroken = { id: expectedFirst, kind: 'chain_broken', sealSeq: (prev?.seq ?? 0) + 1, detail: `seals after ${prev?.seq ?? 0} vanished during verification` };
    }
  }

  let eventMacs: VerifyOutcome['eventMacs'] = null;
  if (opts.macKey) {
    // Only below the first chain break: past it the lowest broken id is already known.
    const macs = await checkEventMacs(db, opts.macKey, from, Math.min(to, firstBroken?.id == null ? to : firstBroken.id - 1));
    eventMacs = { checked: macs.checked, writtenBefore: macs.writtenBefore };
    if (macs.forged) firstBroken = { id: macs.forged.id, kind: 'forged', sealSeq: await sealOf(db, macs.forged.id, top), detail: macs.forged.detail };
  }

  // Only a range that reaches into the claimed archive depends on it.
  const unanchored = !firstBroken && claim && from <= claim.lastId ? claim : undefined;
  const outcome: VerifyOutcome = {
    ok: !firstBroken && !unanchored,
    result: firstBroken ? 'tampered' : unanchored ? 'unanchored' : 'intact',
    checkedEvents,
    checkedSeals,
    ...(firstBroken ? { firstBroken } : {}),
    unsealedEvents: await countUnsealed(db, top?.lastId ?? 0),
    head: top ? { seq: top.seq, sealHash: top.sealHash, lastId: top.lastId } : null,
    archived: trusted ? { throughSeq: trusted.throughSeq, lastId: trusted.lastId } : null,
    eventMacs,
    ...(unanchored
      ? {
          unanchored: {
            throughSeq: unanchored.throughSeq,
            lastId: unanchored.lastId,
            detail: `events up to id ${unanchored.lastId} (seals 1-${unanchored.throughSeq}) are gone under an audit.archived record whose signature cannot be checked without dab's checkpoint public key: it cannot be told from a deletion. Verify with the public key (POST /v1/audit/verify, dab audit verify --checkpoint --public-key) or configure audit.checkpointKeyFile`,
          },
        }
      : {}),
  };
  if (opts.checkpoint) {
    const cp = opts.checkpoint;
    const now = await sealAt(db, cp.seq);
    const matched = now?.sealHash === cp.sealHash && now.lastId === cp.lastId;
    outcome.checkpoint = { seq: cp.seq, status: matched ? 'matched' : 'mismatch' };
    if (!matched) {
      outcome.ok = false;
      outcome.result = 'tampered';
      delete outcome.unanchored;
      outcome.firstBroken ??= {
        id: null,
        kind: 'checkpoint_mismatch',
        sealSeq: cp.seq,
        detail: now
          ? `seal ${cp.seq} no longer has the signed hash: events up to id ${cp.lastId} were changed and the seals recomputed`
          : `seal ${cp.seq} no longer exists: sealed history up to id ${cp.lastId} was removed`,
      };
    }
  }
  return outcome;
}

/** The seal covering an id; head seq + 1 when it is not sealed yet. */
async function sealOf(db: Queryable, id: number, top: Seal | undefined): Promise<number> {
  if (!top || id > top.lastId) return (top?.seq ?? 0) + 1;
  const { rows } = await db.query<{ seq: unknown }>('SELECT seq FROM audit_seals WHERE first_id <= $1 AND last_id >= $1', [id]);
  return rows[0] ? Number(rows[0].seq) : 0;
}

async function lowestIdUpTo(db: Queryable, lastId: number): Promise<number | undefined> {
  const { rows } = await db.query<{ id: unknown }>('SELECT min(id) AS id FROM audit_events WHERE id <= $1', [lastId]);
  return rows[0]?.id == null ? undefined : Number(rows[0].id);
}

/** Why this seal's header cannot be trusted (as a link after `prev`), or undefined. */
function headerProblem(seal: Seal, prev: Seal | undefined): string | undefined {
  const expectedSeq = (prev?.seq ?? 0) + 1;
  if (seal.seq !== expectedSeq) return `seal ${expectedSeq} is missing (next is ${seal.seq})`;
  if (seal.prevSealHash !== (prev?.sealHash ?? GENESIS_HASH)) return `seal ${seal.seq} does not link to seal ${prev?.seq ?? 'genesis'}`;
  if (seal.firstId !== (prev?.lastId ?? 0) + 1) return `seal ${seal.seq} does not start where seal ${prev?.seq ?? 'genesis'} ended`;
  if (!SEAL_FORMATS.includes(seal.format)) return `seal ${seal.seq} has unknown format ${seal.format}`;
  if (!gapsWellFormed(seal)) return `seal ${seal.seq} has malformed gaps`;
  if (seal.lastId - seal.firstId + 1 - gapSize(seal.gaps) !== seal.rowCount) return `seal ${seal.seq} row count does not match its range`;
  if (computeSealHash(seal) !== seal.sealHash) return `seal ${seal.seq} hash does not match its contents`;
  if (seal.rowHashes) {
    if (seal.rowHashes.length !== seal.rowCount * ROW_HASH_BYTES) return `seal ${seal.seq} holds the wrong number of row hashes`;
    if (rowsDigest(seal.rowHashes) !== seal.rowsDigest) return `seal ${seal.seq} row hashes do not match its digest`;
  }
  return undefined;
}

/** Ascending, disjoint, non-adjacent [from, to] pairs inside the range: the only form the sealer writes. */
function gapsWellFormed({ gaps, firstId, lastId }: Seal): boolean {
  if (gaps.length % 2 !== 0) return false;
  let floor = firstId;
  for (let i = 0; i < gaps.length; i += 2) {
    const start = gaps[i] as number;
    const end = gaps[i + 1] as number;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < floor || end < start || end >= lastId) return false;
    floor = end + 2;
  }
  return true;
}

/**
 * Walks the rows of one seal's range against its expected ids (range minus gaps) and row hashes.
 * Ids and rows both ascend, so the first mismatch found is the lowest broken id:
 * an expected id with no row is `deleted`; a row on a gap id is `inserted`; a row whose hash is
 * another position's is `reordered`; any other hash mismatch is `edited`.
 */
async function checkRows(db: Queryable, seal: Seal): Promise<{ checked: number; broken?: BrokenEvent }> {
  const hashes = seal.rowHashes as Buffer;
  const gaps = seal.gaps;
  let gapIndex = 0;
  // The smallest id >= id that is not inside a gap.
  const notInGap = (id: number): number => {
    while (gapIndex < gaps.length && (gaps[gapIndex + 1] as number) < id) gapIndex += 2;
    return gapIndex < gaps.length && (gaps[gapIndex] as number) <= id ? (gaps[gapIndex + 1] as number) + 1 : id;
  };
  let checked = 0;
  const broken = (id: number, kind: BrokenKind, detail: string) => ({ checked, broken: { id, kind, sealSeq: seal.seq, detail } });
  let sealed: Set<string> | undefined;
  let expected = notInGap(seal.firstId);
  let position = 0;

  for await (const row of readRowHashes(db, seal.firstId, seal.lastId, 2000, seal.format)) {
    if (row.id > expected) return broken(expected, 'deleted', `event ${expected} was sealed in seal ${seal.seq} and is gone`);
    if (row.id < expected) return broken(row.id, 'inserted', `event ${row.id} is inside seal ${seal.seq} but was not there when it was sealed`);
    const hash = row.hash;
    if (!hash.equals(hashes.subarray(position * ROW_HASH_BYTES, (position + 1) * ROW_HASH_BYTES))) {
      sealed ??= new Set(Array.from({ length: seal.rowCount }, (_, i) => hashes.subarray(i * ROW_HASH_BYTES, (i + 1) * ROW_HASH_BYTES).toString('hex')));
      return sealed.has(hash.toString('hex'))
        ? broken(row.id, 'reordered', `event ${row.id} holds the content of another event of seal ${seal.seq}`)
        : broken(row.id, 'edited', `event ${row.id} differs from what seal ${seal.seq} recorded`);
    }
    checked += 1;
    position += 1;
    expected = notInGap(row.id + 1);
  }
  if (expected <= seal.lastId) return broken(expected, 'deleted', `event ${expected} was sealed in seal ${seal.seq} and is gone`);
  return { checked };
}
