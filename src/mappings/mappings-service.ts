import { randomUUID } from 'node:crypto';
import { recordAdminChange } from '../audit/admin-changes.js';
import type { Caller } from '../auth/caller.js';
import { ACCESS_LEVELS } from '../databases/database-schema.js';
import { findDatabase } from '../databases/databases-repo.js';
import { AppError, type ProblemFieldError } from '../http/problem.js';
import type { RequestContext } from '../http/request-context.js';
import { transactionThen, type Queryable, type Store } from '../store/store.js';
import type { Mapping, MappingFilter, MappingInput } from './mapping-schema.js';
import { deleteMapping, findMapping, insertMapping, listMappings, updateMapping } from './mappings-repo.js';

export interface MappingsServiceDeps {
  store: Store;
  now: () => Date;
  /** Issuers dab trusts: a mapping for any other issuer could never match anyone. */
  issuers: readonly string[];
  /** Called after every committed (or failed) change: the grant path's model must be reloaded. */
  onChange?: () => void;
}

export type MappingsService = ReturnType<typeof createMappingsService>;

export function createMappingsService({ store, now, issuers, onChange = () => undefined }: MappingsServiceDeps) {
  const change = transactionThen(store, onChange);

  async function check(tx: Queryable, input: MappingInput, at: Date): Promise<void> {
    const errors: ProblemFieldError[] = [];
    if (!issuers.includes(input.principal.issuer)) {
      errors.push({ field: 'body.principal.issuer', message: `is not a configured issuer (${issuers.join(', ')})` });
    }
    const database = await findDatabase(tx, input.database);
    if (!database) {
      errors.push({ field: 'body.database', message: `no database named "${input.database}" is registered` });
    } else {
      const undefinedLevels = input.levels.filter((l) => !database.levels[l]);
      if (undefinedLevels.length) {
        const defined = ACCESS_LEVELS.filter((l) => database.levels[l]).join(', ');
        errors.push({ field: 'body.levels', message: `${undefinedLevels.join(', ')} not defined on ${input.database} (defined: ${defined})` });
      }
    }
    if (input.expiresAt && Date.parse(input.expiresAt) <= at.getTime()) {
      errors.push({ field: 'body.expiresAt', message: 'is in the past' });
    }
    if (errors.length) throw new AppError('validation_failed', errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });
  }

  async function get(id: string): Promise<Mapping> {
    const found = await findMapping(store, id);
    if (!found) throw new AppError('not_found', `no mapping with id ${id}`);
    return found;
  }

  return {
    list: (filter: MappingFilter) => listMappings(store, filter),
    get,

    create: (actor: Caller, ctx: RequestContext, input: MappingInput): Promise<Mapping> =>
      change(async (tx) => {
        const at = now();
        await check(tx, input, at);
        const created = await insertMapping(tx, randomUUID(), input, at);
        await recordAdminChange(tx, actor, ctx, { eventType: 'mapping.created', databaseName: input.database, target: created.id, before: null, after: created }, at);
        return created;
      }),

    replace: (actor: Caller, ctx: RequestContext, id: string, input: MappingInput): Promise<Mapping> =>
      change(async (tx) => {
        const at = now();
        const before = await findMapping(tx, id, true);
        if (!before) throw new AppError('not_found', `no mapping with id ${id}`);
        await check(tx, input, at);
        const after = (await updateMapping(tx, id, input, at)) as Mapping;
        await recordAdminChange(tx, actor, ctx, { eventType: 'mapping.updated', databaseName: input.database, target: id, before, after }, at);
        return after;
      }),

    remove: (actor: Caller, ctx: RequestContext, id: string): Promise<void> =>
      change(async (tx) => {
        const at = now();
        const before = await findMapping(tx, id, true);
        if (!before) throw new AppError('not_found', `no mapping with id ${id}`);
        await deleteMapping(tx, id);
        await recordAdminChange(tx, actor, ctx, { eventType: 'mapping.deleted', databaseName: before.database, target: id, before, after: null }, at);
      }),
  };
}
