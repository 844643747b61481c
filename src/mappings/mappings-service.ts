import { randomUUID } from 'node:crypto';
import { recordAdminChange } from '../audit/admin-changes.js';
import type { Caller } from '../auth/caller.js';
import { checkVersion } from '../http/etag.js';
import { AppError, type ProblemFieldError } from '../http/problem.js';
import type { RequestContext } from '../http/request-context.js';
import { transactionThen, type Queryable, type Store } from '../store/store.js';
import { mappingProblems } from './mapping-checks.js';
import type { Mapping, MappingFilter, MappingInput } from './mapping-schema.js';
import { deleteMapping, findMapping, insertMapping, listMappings, updateMapping } from './mappings-repo.js';

export interface MappingsServiceDeps {
  store: Store;
  now: () => Date;
  /** Issuers dab trusts: a mapping for any other issuer could never match anyone. */
  issuers: readonly string[];
  /** Key of the audit rows' MACs (src/audit/event-mac.ts). */
  eventMacKey: Buffer;
  /** Called after every committed (or failed) change: the grant path's model must be reloaded. */
  onChange?: () => void;
}

/** Who changes, from where, when, and where errors point ("body." or an apply document's path). */
export interface ChangeContext {
  actor: Caller;
  ctx: RequestContext;
  at: Date;
  field: string;
  /**
   * Set by apply, which reports every problem of a document at once: checks add their problems
   * here instead of throwing, and a mapping with problems is not written (the whole change is
   * refused at the end, so nothing is applied).
   */
  problems?: ProblemFieldError[];
}

export type MappingsService = ReturnType<typeof createMappingsService>;

export function validationError(errors: ProblemFieldError[]): AppError {
  return new AppError('validation_failed', errors.map((e) => `${e.field} ${e.message}`).join('; '), { errors });
}

const generatedName = () => `mapping-${randomUUID().slice(0, 8)}`;

export function createMappingsService({ store, now, issuers, eventMacKey, onChange = () => undefined }: MappingsServiceDeps) {
  const change = transactionThen(store, onChange);

  /** False when the input has problems and the change collects them (the mapping is then not written). */
  async function check(tx: Queryable, input: MappingInput, c: ChangeContext, selfId?: string): Promise<boolean> {
    const errors = await mappingProblems(input, { tx, issuers, at: c.at, field: c.field, ...(selfId ? { selfId } : {}) });
    if (!errors.length) return true;
    if (!c.problems) throw validationError(errors);
    c.problems.push(...errors);
    return false;
  }

  async function existing(tx: Queryable, ref: string): Promise<Mapping> {
    const found = await findMapping(tx, ref, true);
    if (!found) throw new AppError('not_found', `no mapping with id or name ${ref}`);
    return found;
  }

  const audit = (tx: Queryable, c: ChangeContext, eventType: string, before: Mapping | null, after: Mapping | null) => {
    const m = (after ?? before) as Mapping;
    return recordAdminChange(tx, c.actor, c.ctx, { eventType, ...(m.database ? { databaseName: m.database } : {}), target: m.id, before, after }, c.at, eventMacKey);
  };

  /** The building blocks of a change, run inside the caller's transaction (REST or apply). */
  const inTransaction = {
    /** Undefined only when c collects problems and this input has some. */
    async create(tx: Queryable, c: ChangeContext, input: MappingInput): Promise<Mapping | undefined> {
      if (!(await check(tx, input, c))) return undefined;
      const name = input.name ?? generatedName();
      const created = await insertMapping(tx, randomUUID(), name, input, c.at);
      if (!created) throw new AppError('conflict', `a mapping named "${name}" already exists`);
      await audit(tx, c, 'mapping.created', null, created);
      return created;
    },

    async replace(tx: Queryable, c: ChangeContext, ref: string, input: MappingInput, ifVersion?: number): Promise<Mapping | undefined> {
      const before = await existing(tx, ref);
      checkVersion('mapping', before.name, before.version, ifVersion);
      if (!(await check(tx, input, c, before.id))) return undefined;
      const name = input.name ?? before.name;
      const after = await updateMapping(tx, before.id, name, input, c.at);
      if (!after) throw new AppError('conflict', `another mapping is already named "${name}"`);
      await audit(tx, c, 'mapping.updated', before, after);
      return after;
    },

    async remove(tx: Queryable, c: ChangeContext, ref: string, ifVersion?: number): Promise<Mapping> {
      const before = await existing(tx, ref);
      checkVersion('mapping', before.name, before.version, ifVersion);
      await deleteMapping(tx, before.id);
      await audit(tx, c, 'mapping.deleted', before, null);
      return before;
    },
  };

  // REST changes throw at the first bad check, so create and replace always return the mapping.
  const rest = (actor: Caller, ctx: RequestContext): ChangeContext => ({ actor, ctx, at: now(), field: 'body.' });

  return {
    inTransaction,
    list: (filter: MappingFilter) => listMappings(store, filter),
    async get(ref: string): Promise<Mapping> {
      const found = await findMapping(store, ref);
      if (!found) throw new AppError('not_found', `no mapping with id or name ${ref}`);
      return found;
    },
    create: (actor: Caller, ctx: RequestContext, input: MappingInput) => change(async (tx) => (await inTransaction.create(tx, rest(actor, ctx), input)) as Mapping),
    replace: (actor: Caller, ctx: RequestContext, ref: string, input: MappingInput, ifVersion: number) =>
      change(async (tx) => (await inTransaction.replace(tx, rest(actor, ctx), ref, input, ifVersion)) as Mapping),
    remove: async (actor: Caller, ctx: RequestContext, ref: string, ifVersion: number): Promise<void> => {
      await change((tx) => inTransaction.remove(tx, rest(actor, ctx), ref, ifVersion));
    },
  };
}
