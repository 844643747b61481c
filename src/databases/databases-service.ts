import { recordAdminChange } from '../audit/admin-changes.js';
import type { Caller } from '../auth/caller.js';
import { AppError } from '../http/problem.js';
import type { RequestContext } from '../http/request-context.js';
import { sqlState, transactionThen, type Queryable, type Store } from '../store/store.js';
import { ACCESS_LEVELS, crossFieldProblems, type CreateDatabaseBody, type Database, type DatabaseInput } from './database-schema.js';
import { deleteDatabase, findDatabase, insertDatabase, listDatabases, updateDatabase } from './databases-repo.js';

export interface DatabasesServiceDeps {
  store: Store;
  now: () => Date;
  /** Keyed fingerprint: the audit log shows that an ExternalId changed without holding it. */
  fingerprint: (secret: string) => string;
  /** Called after every committed (or failed) change: the grant path's model must be reloaded. */
  onChange?: () => void;
}

export type DatabasesService = ReturnType<typeof createDatabasesService>;

/** Removing a level that mappings still grant would silently revoke them (and re-adding it restore them). */
async function refuseOrphanedMappings(tx: Queryable, name: string, removedLevels: string[]): Promise<void> {
  if (!removedLevels.length) return;
  const { rows } = await tx.query<{ id: string }>('SELECT id FROM mappings WHERE database_name = $1 AND levels && $2::text[] ORDER BY id', [name, removedLevels]);
  if (rows.length) {
    throw new AppError('conflict', `level(s) ${removedLevels.join(', ')} of "${name}" are still granted by mapping(s) ${rows.map((r) => r.id).join(', ')}; change those first`);
  }
}

export function createDatabasesService({ store, now, fingerprint, onChange = () => undefined }: DatabasesServiceDeps) {
  const change = transactionThen(store, onChange);

  const forAudit = (d: Database | undefined) => d && { ...d, ...(d.externalId ? { externalId: fingerprint(d.externalId) } : {}) };

  function check(input: DatabaseInput): void {
    const errors = crossFieldProblems(input);
    if (errors.length) throw new AppError('validation_failed', errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });
  }

  async function get(name: string): Promise<Database> {
    const found = await findDatabase(store, name);
    if (!found) throw new AppError('not_found', `no database named "${name}"`);
    return found;
  }

  return {
    list: () => listDatabases(store),
    get,

    async create(actor: Caller, ctx: RequestContext, body: CreateDatabaseBody): Promise<Database> {
      check(body);
      return change(async (tx) => {
        const at = now();
        const created = await insertDatabase(tx, body, at);
        if (!created) throw new AppError('conflict', `a database named "${body.name}" already exists`);
        await recordAdminChange(tx, actor, ctx, { eventType: 'database.created', databaseName: body.name, target: body.name, before: null, after: forAudit(created) }, at);
        return created;
      });
    },

    async replace(actor: Caller, ctx: RequestContext, name: string, input: DatabaseInput): Promise<Database> {
      check(input);
      return change(async (tx) => {
        const at = now();
        const before = await findDatabase(tx, name, true);
        if (!before) throw new AppError('not_found', `no database named "${name}"`);
        await refuseOrphanedMappings(tx, name, ACCESS_LEVELS.filter((l) => before.levels[l] && !input.levels[l]));
        const after = (await updateDatabase(tx, { ...input, name }, at)) as Database;
        await recordAdminChange(tx, actor, ctx, { eventType: 'database.updated', databaseName: name, target: name, before: forAudit(before), after: forAudit(after) }, at);
        return after;
      });
    },

    async remove(actor: Caller, ctx: RequestContext, name: string): Promise<void> {
      try {
        await change(async (tx) => {
          const at = now();
          const before = await findDatabase(tx, name, true);
          if (!before) throw new AppError('not_found', `no database named "${name}"`);
          await deleteDatabase(tx, name);
          await recordAdminChange(tx, actor, ctx, { eventType: 'database.deleted', databaseName: name, target: name, before: forAudit(before), after: null }, at);
        });
      } catch (err) {
        // 23503 foreign_key_violation; PostgreSQL 17+ (and PGlite) report ON DELETE RESTRICT as 23001 restrict_violation.
        const state = sqlState(err);
        if (state === '23503' || state === '23001') throw new AppError('conflict', `database "${name}" still has mappings; delete them first`);
        throw err;
      }
    },
  };
}
