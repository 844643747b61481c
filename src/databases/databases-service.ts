import { recordAdminChange } from '../audit/admin-changes.js';
import type { Caller } from '../auth/caller.js';
import { checkVersion } from '../http/etag.js';
import { AppError } from '../http/problem.js';
import type { RequestContext } from '../http/request-context.js';
import { orphanedMappings } from '../mappings/mapping-checks.js';
import { validationError, type ChangeContext } from '../mappings/mappings-service.js';
import { sqlState, transactionThen, type Queryable, type Store } from '../store/store.js';
import { withEngineDefaults } from '../engines/registration.js';
import { crossFieldProblems, type CreateDatabaseBody, type Database, type DatabaseInput } from './database-schema.js';
import { deleteDatabase, findDatabase, insertDatabase, listDatabases, updateDatabase } from './databases-repo.js';

export interface DatabasesServiceDeps {
  store: Store;
  now: () => Date;
  /** Keyed fingerprint: the audit log shows that an ExternalId changed without holding it. */
  fingerprint: (secret: string) => string;
  /** Key of the audit rows' MACs (src/audit/event-mac.ts). */
  eventMacKey: Buffer;
  /** Called after every committed (or failed) change: the grant path's model must be reloaded. */
  onChange?: () => void;
}

export type DatabasesService = ReturnType<typeof createDatabasesService>;

/**
 * Removing a level that mappings still grant would silently revoke them (and re-adding it restore
 * them). Checked after the whole change, so an apply may remove a level and its grants together.
 */
export async function refuseOrphanedMappings(tx: Queryable, databaseNames: readonly string[]): Promise<void> {
  // Single-item routes keep their one-line answer; apply places each orphan itself (admin/apply-problems.ts).
  const orphans = await orphanedMappings(tx, databaseNames);
  if (orphans.length) {
    const list = orphans.map((o) => `"${o.name}" (${o.missing.join(', ')} on ${o.database})`).join(', ');
    throw new AppError('conflict', `mapping(s) ${list} grant level(s) the database would no longer define; change those mappings first`);
  }
}

export function createDatabasesService({ store, now, fingerprint, eventMacKey, onChange = () => undefined }: DatabasesServiceDeps) {
  const change = transactionThen(store, onChange);

  const forAudit = (d: Database | undefined) => d && { ...d, ...(d.externalId ? { externalId: fingerprint(d.externalId) } : {}) };

  /**
   * Problems are thrown, or (apply) collected and the database written anyway: the change is refused
   * at the end, and mappings that name it are then checked against it rather than reported missing.
   */
  function check(input: Database, c: ChangeContext): void {
    const errors = crossFieldProblems(input).map((e) => ({ ...e, field: e.field.replace(/^body\./, c.field) }));
    if (!errors.length) return;
    if (!c.problems) throw validationError(errors);
    c.problems.push(...errors);
  }

  // The checks read a registration as it will be stored (the row's own fields do not matter to them).
  const stored = (body: CreateDatabaseBody & { engine: string; port: number }): Database => ({ ...body, version: 0, createdAt: '', updatedAt: '' });

  async function existing(tx: Queryable, name: string): Promise<Database> {
    const found = await findDatabase(tx, name, true);
    if (!found) throw new AppError('not_found', `no database named "${name}"`);
    return found;
  }

  /** The building blocks of a change, run inside the caller's transaction (REST or apply). */
  const inTransaction = {
    async create(tx: Queryable, c: ChangeContext, sent: CreateDatabaseBody): Promise<Database> {
      const body = withEngineDefaults(sent);
      check(stored(body), c);
      const created = await insertDatabase(tx, body, c.at);
      if (!created) throw new AppError('conflict', `a database named "${body.name}" already exists`);
      await recordAdminChange(tx, c.actor, c.ctx, { eventType: 'database.created', databaseName: body.name, target: body.name, before: null, after: forAudit(created) }, c.at, eventMacKey);
      return created;
    },

    /** Leaves the orphaned-mapping check to the caller, who knows when the whole change is done. */
    async replace(tx: Queryable, c: ChangeContext, name: string, sent: DatabaseInput, ifVersion?: number): Promise<Database> {
      const input = withEngineDefaults({ ...sent, name });
      check(stored(input), c);
      const before = await existing(tx, name);
      checkVersion('database', name, before.version, ifVersion);
      const after = (await updateDatabase(tx, input, c.at)) as Database;
      await recordAdminChange(tx, c.actor, c.ctx, { eventType: 'database.updated', databaseName: name, target: name, before: forAudit(before), after: forAudit(after) }, c.at, eventMacKey);
      return after;
    },

    async remove(tx: Queryable, c: ChangeContext, name: string, ifVersion?: number): Promise<Database> {
      const before = await existing(tx, name);
      checkVersion('database', name, before.version, ifVersion);
      try {
        await deleteDatabase(tx, name);
      } catch (err) {
        // 23503 foreign_key_violation; PostgreSQL 17+ (and PGlite) report ON DELETE RESTRICT as 23001 restrict_violation.
        const state = sqlState(err);
        if (state === '23503' || state === '23001') throw new AppError('conflict', `database "${name}" is still named by mappings; delete or retarget them first`);
        throw err;
      }
      await recordAdminChange(tx, c.actor, c.ctx, { eventType: 'database.deleted', databaseName: name, target: name, before: forAudit(before), after: null }, c.at, eventMacKey);
      return before;
    },
  };

  const rest = (actor: Caller, ctx: RequestContext): ChangeContext => ({ actor, ctx, at: now(), field: 'body.' });

  return {
    inTransaction,
    list: () => listDatabases(store),
    async get(name: string): Promise<Database> {
      const found = await findDatabase(store, name);
      if (!found) throw new AppError('not_found', `no database named "${name}"`);
      return found;
    },
    create: (actor: Caller, ctx: RequestContext, body: CreateDatabaseBody) => change((tx) => inTransaction.create(tx, rest(actor, ctx), body)),
    replace: (actor: Caller, ctx: RequestContext, name: string, input: DatabaseInput, ifVersion: number) =>
      change(async (tx) => {
        const after = await inTransaction.replace(tx, rest(actor, ctx), name, input, ifVersion);
        await refuseOrphanedMappings(tx, [name]);
        return after;
      }),
    remove: async (actor: Caller, ctx: RequestContext, name: string, ifVersion: number): Promise<void> => {
      await change((tx) => inTransaction.remove(tx, rest(actor, ctx), name, ifVersion));
    },
  };
}
