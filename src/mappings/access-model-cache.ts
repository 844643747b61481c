import { listOpenRequests } from '../access-requests/access-requests-repo.js';
import { listDatabases } from '../databases/databases-repo.js';
import type { Queryable, Store } from '../store/store.js';
import { buildAccessModel, type AccessModel } from './access-model.js';
import { listAllMappings } from './mappings-repo.js';

export interface AccessModelCacheOptions {
  store: Store;
  /** A decision never uses a model older than this (ms): the revocation delay across instances. */
  maxStalenessMs: number;
  nowMs?: () => number;
}

export type AccessModelCache = ReturnType<typeof createAccessModelCache>;

/**
 * Reads every database and mapping, and the open access requests (pending, or approved with a
 * window not yet over), in one snapshot when `db` is a transaction, and indexes them.
 */
export async function loadAccessModel(db: Queryable): Promise<AccessModel> {
  const [databases, mappings, requests] = await Promise.all([listDatabases(db), listAllMappings(db), listOpenRequests(db)]);
  return buildAccessModel(databases, mappings, requests);
}

/**
 * The grant path's view of databases and mappings, kept in memory so a grant costs no lookup
 * queries. Freshness: changes made through this instance invalidate it at once; changes made
 * anywhere else bump access_model_version (a trigger), which is re-read whenever the last check is
 * older than maxStalenessMs — so no decision rests on a model older than that, with no timers and
 * one tiny query per interval under load.
 */
export function createAccessModelCache(opts: AccessModelCacheOptions) {
  const nowMs = opts.nowMs ?? Date.now;
  let model: Promise<AccessModel> | undefined;
  let version: string | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let checking: Promise<void> | undefined;

  // A load in flight when this runs is dropped with the rest, so it is never served to a request
  // that arrives after the change.
  function invalidate(): void {
    model = undefined;
  }

  const checkedRecently = (): boolean => nowMs() - checkedAt < opts.maxStalenessMs;

  async function ensureFresh(): Promise<void> {
    if (checkedRecently()) return;
    checking ??= (async () => {
      const startedAt = nowMs();
      const { rows } = await opts.store.query<{ version: string }>('SELECT version::text AS version FROM access_model_version');
      const current = rows[0]?.version;
      if (current !== version) {
        version = current;
        invalidate();
      }
      checkedAt = startedAt;
    })().finally(() => {
      checking = undefined;
    });
    await checking;
  }

  /**
   * Told by the store (LISTEN/NOTIFY, access-model-listener.ts) that the version moved to `notified`:
   * the model is dropped at once. The version is taken as read, so the next poll does not drop the
   * model loaded since a second time; an empty or older payload only drops the model.
   */
  function changed(notified?: string): void {
    if (notified && /^\d+$/.test(notified) && (version === undefined || !/^\d+$/.test(version) || BigInt(notified) > BigInt(version))) version = notified;
    invalidate();
  }

  return {
    invalidate,
    changed,
    /** The current model: at most maxStalenessMs behind the store, loaded once per change. */
    async current(): Promise<AccessModel> {
      // The grant path's common case: checked recently and loaded; no extra awaits on the way.
      if (model && checkedRecently()) return model;
      await ensureFresh();
      if (model) return model;
      const pending = loadAccessModel(opts.store);
      model = pending;
      // A failed load is not kept: the next request tries the store again.
      pending.catch(() => {
        if (model === pending) model = undefined;
      });
      return pending;
    },
  };
}
