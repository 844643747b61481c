import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { ConfigError } from '../config/load-config.js';
import { AppError } from '../http/problem.js';
import type { Queryable } from '../store/store.js';
import type { Checkpoint, CheckpointKey } from './checkpoint-signer.js';
import { sealAt, sealHead, type Seal } from './seal-repo.js';

export interface CheckpointerDeps {
  store: Queryable;
  /** Absent: checkpoints are off (the endpoint answers 404). */
  key: CheckpointKey | undefined;
  /** Append-only NDJSON file that receives every checkpoint, if set. */
  file: string | undefined;
  /** Least time between checkpoints after sealing rounds; 0 signs after every round that sealed. */
  intervalMs: number;
  now: () => Date;
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export type Checkpointer = ReturnType<typeof createCheckpointer>;

/**
 * Signs the chain head and publishes it where the database cannot reach: the log stream (a pino
 * line with `checkpoint`), the checkpoint file, and GET /v1/audit/checkpoints/latest for auditors
 * to save. Before each new signature it checks that the chain still holds the previous checkpoint:
 * if history was rewritten underneath a running dab it refuses to sign and says so loudly,
 * instead of vouching for the rewritten chain.
 */
export function createCheckpointer({ store, key, file, intervalMs, now, log }: CheckpointerDeps) {
  if (file) checkWritable(file);
  // Resuming from the file keeps the continuity check across restarts.
  let latest: Checkpoint | undefined = key && file ? lastCheckpointIn(file, key) : undefined;
  let lastIssuedAt = 0;
  let queue: Promise<unknown> = Promise.resolve();

  async function issue(head: Seal): Promise<Checkpoint> {
    if (!key) throw new AppError('not_found', 'checkpoint signing is not configured (audit.checkpointKeyFile)');
    if (latest && latest.seq === head.seq && latest.sealHash === head.sealHash) return latest;
    if (latest) {
      const then = await sealAt(store, latest.seq);
      if (then?.sealHash !== latest.sealHash) {
        log.error(
          { checkpointMismatch: { seq: latest.seq, signedSealHash: latest.sealHash, currentSealHash: then?.sealHash ?? null, signedAt: latest.at } },
          'audit seal chain no longer holds the last signed checkpoint: history was rewritten or lost; not signing',
        );
        throw new AppError('conflict', `the seal chain no longer holds checkpoint ${latest.seq} signed at ${latest.at}: verify against your saved checkpoints`);
      }
    }
    const checkpoint = key.sign({ seq: head.seq, sealHash: head.sealHash, lastId: head.lastId, at: now().toISOString() });
    log.info({ checkpoint }, 'audit checkpoint');
    if (file) {
      try {
        await appendFile(file, `${JSON.stringify(checkpoint)}\n`, { flag: 'a' });
      } catch (err) {
        // The log line above still carries it; a full disk must not stop sealing.
        log.error({ err: { message: (err as Error).message }, file }, 'could not append the audit checkpoint to audit.checkpointFile');
      }
    }
    latest = checkpoint;
    lastIssuedAt = Date.now();
    return checkpoint;
  }

  /** One signature at a time, so the continuity check and `latest` never race. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  }

  return {
    enabled: Boolean(key),
    /** When the newest checkpoint this process knows of was signed (ISO time), if any. */
    get latestSignedAt(): string | undefined {
      return latest?.at;
    },
    /** After a sealing round: sign the new head unless one was signed less than intervalMs ago. */
    async afterSealing(head: Seal): Promise<void> {
      if (!key || (intervalMs > 0 && Date.now() - lastIssuedAt < intervalMs)) return;
      await serial(() => issue(head));
    },
    /** The checkpoint of the current head (signed now if the head moved since the last one). */
    latest(): Promise<Checkpoint> {
      return serial(async () => {
        if (!key) throw new AppError('not_found', 'checkpoint signing is not configured (audit.checkpointKeyFile)');
        const head = await sealHead(store);
        if (!head) throw new AppError('not_found', 'nothing has been sealed yet');
        return issue(head);
      });
    },
  };
}

function checkWritable(file: string): void {
  try {
    closeSync(openSync(file, 'a'));
  } catch (err) {
    throw new ConfigError(`config audit.checkpointFile (DAB_AUDIT_CHECKPOINT_FILE): cannot append to ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The last line of the file if it is a checkpoint this key signed (only the tail is read). */
function lastCheckpointIn(file: string, key: CheckpointKey): Checkpoint | undefined {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, 64 * 1024);
    const tail = Buffer.alloc(length);
    readSync(fd, tail, 0, length, size - length);
    const line = tail.toString('utf8').trimEnd().split('\n').pop();
    if (!line) return undefined;
    const candidate = JSON.parse(line) as Checkpoint;
    return key.verifies(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
