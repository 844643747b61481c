import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { Queryable } from '../store/store.js';
import { computeSealHash, GENESIS_HASH, gapSize, ROW_HASH_BYTES, rowHashOfCanonical, rowsDigest, SEAL_FORMATS, type SealHeader } from './audit-canonical.js';
import { readCanonicalTexts, readSeals } from './seal-repo.js';

/**
 * The archive file: NDJSON, self-checking. First a header line, then for each archived seal a
 * `seal` line (its full header and row hashes) followed by one `event` line per event, whose
 * `canonical` string is exactly what the seal hashed. Anyone can recompute every row hash, the
 * seals' digests and their chain from the file alone (checkArchiveFile), and compare the last seal
 * hash with the chain dab keeps (seals are never archived).
 */
export interface ArchiveRange {
  fromSeq: number;
  throughSeq: number;
  firstId: number;
  lastId: number;
  events: number;
}

/** Archiving stopped before removing anything; `tampered` when the range itself does not verify. */
export class ArchiveRefusedError extends Error {
  override name = 'ArchiveRefusedError';
  constructor(
    message: string,
    readonly tampered = false,
  ) {
    super(message);
  }
}

/** Streams the range to `path` (via path.partial, fsynced, then renamed); returns the file's SHA-256. */
export async function writeArchiveFile(db: Queryable, range: ArchiveRange, path: string, createdAt: Date): Promise<string> {
  const partial = `${path}.partial`;
  const out = createWriteStream(partial, { flags: 'wx', mode: 0o640 });
  const hash = createHash('sha256');
  const write = async (line: object) => {
    const text = `${JSON.stringify(line)}\n`;
    hash.update(text);
    if (!out.write(text)) await once(out, 'drain');
  };
  try {
    await write({ type: 'dab-audit-archive', version: 1, ...range, createdAt: createdAt.toISOString() });
    for await (const seal of readSeals(db, range.firstId, range.lastId, range.fromSeq - 1)) {
      if (seal.seq > range.throughSeq) break;
      const { rowHashes, ...header } = seal;
      await write({ type: 'seal', ...header, rowHashes: (rowHashes as Buffer).toString('hex') });
      let position = 0;
      for await (const { id, canonical } of readCanonicalTexts(db, seal.firstId, seal.lastId, 1000, seal.format)) {
        // Never archive (and so destroy) anything that no longer matches its seal.
        if (!rowHashOfCanonical(canonical, seal.format).equals((rowHashes as Buffer).subarray(position * ROW_HASH_BYTES, (position + 1) * ROW_HASH_BYTES))) {
          throw new ArchiveRefusedError(`event ${id} does not match seal ${seal.seq}: refusing to archive a tampered range (run dab audit verify)`, true);
        }
        await write({ type: 'event', id, canonical });
        position += 1;
      }
      if (position !== seal.rowCount) throw new ArchiveRefusedError(`seal ${seal.seq} covers ${seal.rowCount} events but ${position} were found: refusing to archive`, true);
    }
    out.end();
    await once(out, 'finish');
    const handle = await open(partial, 'r');
    await handle.sync().finally(() => handle.close());
    await rename(partial, path);
    return hash.digest('hex');
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}

export interface ArchiveFileCheck {
  ok: boolean;
  sha256: string;
  seals: number;
  events: number;
  /** The last seal in the file: compare with GET /v1/audit/verify or the signed archive record. */
  last?: { seq: number; sealHash: string; lastId: number };
  problem?: string;
}

/** Recomputes everything in an archive file from its own contents, with flat memory. */
export async function checkArchiveFile(path: string): Promise<ArchiveFileCheck> {
  const hash = createHash('sha256');
  let seal: (SealHeader & { rowHashes: Buffer }) | undefined;
  let prev: SealHeader | undefined;
  let position = 0;
  let expectedId = 0;
  let seals = 0;
  let events = 0;
  let header: ArchiveRange | undefined;
  const fail = (problem: string): ArchiveFileCheck => ({ ok: false, sha256: '', seals, events, problem });
  const sealDone = () => !seal || position === seal.rowCount;

  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
    hash.update(`${line}\n`);
    let item: { type: string } & Record<string, unknown>;
    try {
      item = JSON.parse(line) as typeof item;
    } catch {
      return fail('a line is not JSON');
    }
    if (!header) {
      if (item.type !== 'dab-audit-archive' || item.version !== 1) return fail('not a dab audit archive (version 1)');
      header = item as unknown as ArchiveRange;
    } else if (item.type === 'seal') {
      if (!sealDone()) return fail(`seal ${seal?.seq} is missing events`);
      const next = { ...(item as unknown as SealHeader), rowHashes: Buffer.from(String(item.rowHashes), 'hex') };
      if (prev && (next.seq !== prev.seq + 1 || next.prevSealHash !== prev.sealHash || next.firstId !== prev.lastId + 1)) return fail(`seal ${next.seq} does not follow seal ${prev.seq}`);
      if (!prev && next.seq === 1 && next.prevSealHash !== GENESIS_HASH) return fail('seal 1 does not start the chain');
      if (!SEAL_FORMATS.includes(next.format)) return fail(`seal ${next.seq} has unknown format ${next.format}`);
      if (computeSealHash(next) !== next.sealHash || rowsDigest(next.rowHashes) !== next.rowsDigest) return fail(`seal ${next.seq} does not match its own hash`);
      if (next.rowHashes.length !== next.rowCount * ROW_HASH_BYTES || next.lastId - next.firstId + 1 - gapSize(next.gaps) !== next.rowCount) return fail(`seal ${next.seq} is inconsistent`);
      seal = next;
      prev = next;
      position = 0;
      expectedId = skipGaps(next.gaps, next.firstId);
      seals += 1;
    } else if (item.type === 'event' && seal && position < seal.rowCount) {
      if (!rowHashOfCanonical(String(item.canonical), seal.format).equals(seal.rowHashes.subarray(position * ROW_HASH_BYTES, (position + 1) * ROW_HASH_BYTES))) {
        return fail(`event ${String(item.id)} does not match seal ${seal.seq}`);
      }
      if (item.id !== expectedId) return fail(`event ${String(item.id)} is listed where seal ${seal.seq} has event ${expectedId}`);
      expectedId = skipGaps(seal.gaps, expectedId + 1);
      position += 1;
      events += 1;
    } else {
      return fail(`unexpected ${item.type} line`);
    }
  }
  if (!header || !sealDone()) return fail('the file ends early');
  if (prev?.seq !== header.throughSeq || events !== header.events) return fail('the file does not hold the range its header announces');
  return { ok: true, sha256: hash.digest('hex'), seals, events, last: { seq: prev.seq, sealHash: prev.sealHash, lastId: prev.lastId } };
}


/** The smallest id >= id outside every gap (gaps: flattened inclusive pairs, ascending). */
function skipGaps(gaps: readonly number[], id: number): number {
  for (let i = 0; i < gaps.length; i += 2) if ((gaps[i] as number) <= id && id <= (gaps[i + 1] as number)) return (gaps[i + 1] as number) + 1;
  return id;
}
