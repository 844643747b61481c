import type { Caller } from '../auth/caller.js';
import type { Database } from '../databases/database-schema.js';
import { findDatabase } from '../databases/databases-repo.js';
import type { Store } from '../store/store.js';
import type { Mapping } from './mapping-schema.js';
import { listDatabaseMappings } from './mappings-repo.js';

export interface AccessModelCacheOptions {
  store: Store;
  /** A decision never uses a model older than this (ms): the revocation delay across instances. */
  maxStalenessMs: number;
  /** How many databases (with their mappings) to keep; the least recently loaded go first. */
  maxDatabases: number;
  nowMs?: () => number;
}

interface Entry {
  database: Database | undefined;
  /** Mappings of this database by principal key, so a decision costs the same at 10 or 100 000 mappings. */
  byPrincipal: Map<string, Mapping[]>;
}

export interface AccessLookup {
  database: Database | undefined;
  mappings: Mapping[];
}

export type AccessModelCache = ReturnType<typeof createAccessModelCache>;

const subjectKey = (issuer: string, subject: string) => `${issuer}\u0000s\u0000${subject}`;
const groupKey = (issuer: string, group: string) => `${issuer}\u0000g\u0000${group}`;

/**
 * The grant path's view of databases and mappings, kept in memory so a grant costs no lookup
 * queries. Freshness: changes made through this instance invalidate it at once; changes made
 * anywhere else bump access_model_version (a trigger), which is re-read whenever the last check is
 * older than maxStalenessMs — so no decision rests on a model older than that, with no timers and
 * one tiny query per interval under load.
 */
export function createAccessModelCache(opts: AccessModelCacheOptions) {
  const nowMs = opts.nowMs ?? Date.now;
  const entries = new Map<string, Promise<Entry>>();
  let version: string | undefined;
  let checkedAt = Number.NEGATIVE_INFINITY;
  let checking: Promise<void> | undefined;

  // A load in flight when this runs is dropped from the map with everything else, so it is never
  // served to a request that arrives after the change.
  function invalidate(): void {
    entries.clear();
  }

  async function ensureFresh(): Promise<void> {
    if (nowMs() - checkedAt < opts.maxStalenessMs) return;
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

  async function load(name: string): Promise<Entry> {
    const [database, mappings] = await Promise.all([findDatabase(opts.store, name), listDatabaseMappings(opts.store, name)]);
    const byPrincipal = new Map<string, Mapping[]>();
    for (const m of mappings) {
      const key = 'subject' in m.principal ? subjectKey(m.principal.issuer, m.principal.subject) : groupKey(m.principal.issuer, m.principal.group);
      byPrincipal.set(key, [...(byPrincipal.get(key) ?? []), m]);
    }
    return { database, byPrincipal };
  }

  function entryFor(name: string): Promise<Entry> {
    const cached = entries.get(name);
    if (cached) return cached;
    const pending = load(name);
    entries.set(name, pending);
    if (entries.size > opts.maxDatabases) entries.delete(entries.keys().next().value as string);
    // A failed load is not cached: the next request tries the store again.
    pending.catch(() => {
      if (entries.get(name) === pending) entries.delete(name);
    });
    return pending;
  }

  return {
    invalidate,
    /** The database and the mappings whose principal names this caller (by subject or a group). */
    async lookup(name: string, caller: Caller): Promise<AccessLookup> {
      await ensureFresh();
      const entry = await entryFor(name);
      const mappings = [
        ...(entry.byPrincipal.get(subjectKey(caller.issuer, caller.subject)) ?? []),
        ...caller.groups.flatMap((g) => entry.byPrincipal.get(groupKey(caller.issuer, g)) ?? []),
      ];
      return { database: entry.database, mappings };
    },
  };
}
