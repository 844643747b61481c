import type { Caller } from '../auth/caller.js';
import type { CreateDatabaseBody, Database } from '../databases/database-schema.js';
import { findDatabase } from '../databases/databases-repo.js';
import { refuseOrphanedMappings, type DatabasesService } from '../databases/databases-service.js';
import { AppError } from '../http/problem.js';
import type { RequestContext } from '../http/request-context.js';
import { loadAccessModel } from '../mappings/access-model-cache.js';
import type { AccessModel } from '../mappings/access-model.js';
import type { Mapping } from '../mappings/mapping-schema.js';
import { findMapping } from '../mappings/mappings-repo.js';
import type { ChangeContext, MappingsService } from '../mappings/mappings-service.js';
import { transactionThen, type Queryable, type Store } from '../store/store.js';
import { accessImpact } from './access-impact.js';
import { applyProblems, duplicateNames, orphanProblems, pruneBlockers } from './apply-problems.js';
import type { AccessDocument, ApplyRequest, ChangesRequest, MappingDeclaration, PlanResult } from './admin-schema.js';
import { withEngineDefaults } from '../engines/registration.js';
import { databaseDeclaration, mappingDeclaration, sameDeclaration } from './declarations.js';
import { applyRequestPolicies } from '../access-requests/policy-apply.js';
import { listRequestPolicies } from '../access-requests/request-policies-repo.js';

export interface AdminServiceDeps {
  store: Store;
  now: () => Date;
  databases: DatabasesService;
  mappings: MappingsService;
  auditWindowDays: number;
  /** Key of the audit rows' MACs, for request-policy changes (src/audit/event-mac.ts). */
  eventMacKey: Buffer;
  onChange?: () => void;
}

type Change = PlanResult['changes'][number];
interface Planned {
  changes: Change[];
  unchanged: number;
  /** Databases whose levels may have changed: checked for orphaned mappings at the end. */
  touchedDatabases: string[];
}

export type AdminService = ReturnType<typeof createAdminService>;

/** Thrown to roll a dry-run back after it has been planned, checked and measured in full. */
class DryRunRollback extends Error {}

/**
 * Declarative and batched changes to databases and mappings: each request is one transaction
 * (nothing half-applied), serialised against other admin batches, and reports what changed and
 * who gains or loses access. A dry-run does all of it, then rolls back.
 */
export function createAdminService({ store, now, databases, mappings, auditWindowDays, eventMacKey, onChange = () => undefined }: AdminServiceDeps) {
  const commit = transactionThen(store, onChange);

  async function run(dryRun: boolean, plan: (tx: Queryable, at: Date, before: AccessModel) => Promise<Planned>): Promise<PlanResult> {
    let result: PlanResult | undefined;
    const work = async (tx: Queryable) => {
      // Admin batches take turns (the grant path never takes this lock).
      await tx.query('SELECT version FROM access_model_version FOR UPDATE');
      const before = await loadAccessModel(tx);
      const at = now();
      const planned = await plan(tx, at, before);
      await refuseOrphanedMappings(tx, planned.touchedDatabases);
      const after = planned.changes.length ? await loadAccessModel(tx) : before;
      const impact = await accessImpact(tx, before, after, at, auditWindowDays);
      result = { dryRun, changes: planned.changes, unchanged: planned.unchanged, impact };
      if (dryRun) throw new DryRunRollback();
    };
    try {
      await (dryRun ? store.transaction(work) : commit(work));
    } catch (err) {
      if (!(err instanceof DryRunRollback)) throw err;
    }
    return result as PlanResult;
  }

  /** Makes one declared database or mapping so; returns what it did. */
  async function put(tx: Queryable, c: ChangeContext, decl: { database: CreateDatabaseBody } | { mapping: MappingDeclaration }, lookup: Lookup, ifVersion?: number): Promise<Change | undefined> {
    if ('database' in decl) {
      const d = decl.database;
      const existing = await lookup.database(d.name);
      if (!existing) return (await databases.inTransaction.create(tx, c, d)) && { kind: 'database', name: d.name, action: 'create' };
      if (ifVersion === undefined && sameDeclaration(databaseDeclaration(existing), withEngineDefaults(d))) return undefined;
      const { name: _name, ...input } = d;
      await databases.inTransaction.replace(tx, c, d.name, input, ifVersion);
      return { kind: 'database', name: d.name, action: 'update' };
    }
    const m = decl.mapping;
    const existing = await lookup.mapping(m.name);
    if (!existing) return (await mappings.inTransaction.create(tx, c, m)) && { kind: 'mapping', name: m.name, action: 'create' };
    if (ifVersion === undefined && sameDeclaration(mappingDeclaration(existing), m)) return undefined;
    await mappings.inTransaction.replace(tx, c, existing.id, m, ifVersion);
    return { kind: 'mapping', name: m.name, action: 'update' };
  }

  interface Lookup {
    database(name: string): Promise<Database | undefined>;
    mapping(name: string): Promise<Mapping | undefined>;
  }
  interface Current {
    databases: Map<string, Database>;
    mappings: Map<string, Mapping>;
  }
  // The model the change starts from, by name: read once per change, not again for planning.
  const byName = (model: AccessModel): Current => ({ databases: new Map(model.databases), mappings: new Map(model.mappings.map((m) => [m.name, m])) });
  // Apply reads everything once (each declaration touches only its own name); a batch reads as it goes.
  const snapshotLookup = (now: Current): Lookup => ({ database: async (n) => now.databases.get(n), mapping: async (n) => now.mappings.get(n) });
  const liveLookup = (tx: Queryable): Lookup => ({ database: (n) => findDatabase(tx, n), mapping: (n) => findMapping(tx, n) });

  const context = (actor: Caller, ctx: RequestContext, at: Date, field: string, problems?: ChangeContext['problems']): ChangeContext => ({ actor, ctx, at, field, ...(problems ? { problems } : {}) });

  return {
    /**
     * Makes the store hold exactly what the document declares (and, with prune, nothing else).
     * Every problem of the document is collected (up to MAX_PROBLEMS) and answered at once; when
     * there is any, the transaction is rolled back and nothing is applied.
     */
    apply(actor: Caller, ctx: RequestContext, req: ApplyRequest): Promise<PlanResult> {
      const declaredDatabases = req.document.databases ?? [];
      const declaredMappings = req.document.mappings ?? [];

      return run(req.dryRun ?? false, async (tx, at, before) => {
        const problems = applyProblems();
        problems.invalid.push(...duplicateNames(declaredDatabases, 'body.document.databases'), ...duplicateNames(declaredMappings, 'body.document.mappings'));
        // A second declaration of a name is reported above, not planned.
        const firsts = <T extends { name: string }>(items: readonly T[]) => {
          const seen = new Set<string>();
          return items.flatMap((item, i) => (seen.has(item.name) ? [] : (seen.add(item.name), [[i, item] as const])));
        };
        const now = byName(before);
        const changes: Change[] = [];
        const record = (change: Change | undefined) => change && changes.push(change);
        const c = (field: string) => context(actor, ctx, at, field, problems.invalid);
        // Order: pruned mappings go first (so a renamed mapping never overlaps its old self), then
        // databases (so mappings can use new levels and labels), then mappings, then pruned databases.
        const keepMappings = new Set(declaredMappings.map((m) => m.name));
        const keepDatabases = new Set(declaredDatabases.map((d) => d.name));
        if (req.prune) {
          for (const m of now.mappings.values()) {
            if (!keepMappings.has(m.name)) record((await mappings.inTransaction.remove(tx, c('body.prune'), m.id)) && { kind: 'mapping', name: m.name, action: 'delete' });
          }
        }
        const lookup = snapshotLookup(now);
        for (const [i, d] of firsts(declaredDatabases)) {
          if (problems.full) break;
          record(await put(tx, c(`body.document.databases.${i}.`), { database: d }, lookup));
        }
        const rejected = new Set<string>();
        for (const [i, m] of firsts(declaredMappings)) {
          if (problems.full) break;
          const found = problems.invalid.length;
          record(await put(tx, c(`body.document.mappings.${i}.`), { mapping: m }, lookup));
          if (problems.invalid.length > found) rejected.add(m.name);
        }
        if (req.prune) {
          for (const d of now.databases.values()) {
            if (keepDatabases.has(d.name) || problems.full) continue;
            const blockers = await pruneBlockers(tx, d.name, declaredMappings);
            if (blockers.length) problems.conflicts.push(...blockers);
            else record((await databases.inTransaction.remove(tx, c('body.prune'), d.name)) && { kind: 'database', name: d.name, action: 'delete' });
          }
        }
        const declaredPolicies = req.document.requestPolicies ?? [];
        problems.invalid.push(...duplicateNames(declaredPolicies, 'body.document.requestPolicies'));
        if (!problems.full) {
          const databaseKnown = async (name: string) => keepDatabases.has(name) || (!req.prune && (await lookup.database(name)) !== undefined);
          changes.push(...(await applyRequestPolicies({ tx, actor, ctx, at, macKey: eventMacKey, problems: problems.invalid, databaseKnown }, declaredPolicies, req.prune ?? false)));
        }
        if (!problems.full) problems.conflicts.push(...(await orphanProblems(tx, { databases: declaredDatabases, mappings: declaredMappings }, rejected)));
        const refused = problems.error();
        if (refused) throw refused;
        const unchanged = declaredDatabases.length + declaredMappings.length + declaredPolicies.length - changes.filter((ch) => ch.action !== 'delete').length;
        // Orphaned mappings were checked above, each at its place in the document.
        return { changes, unchanged, touchedDatabases: [] };
      });
    },

    /** Runs put/delete operations in order, in one transaction. */
    changes(actor: Caller, ctx: RequestContext, req: ChangesRequest): Promise<PlanResult> {
      return run(req.dryRun ?? false, async (tx, at) => {
        const changes: Change[] = [];
        let unchanged = 0;
        const touched: string[] = [];
        const lookup = liveLookup(tx);
        for (const [i, op] of req.operations.entries()) {
          const field = `body.operations.${i}.${'database' in op ? 'database' : 'mapping'}.`;
          const c = context(actor, ctx, at, field);
          if (op.action === 'put') {
            const change = await put(tx, c, 'database' in op ? { database: op.database } : { mapping: op.mapping }, lookup, op.ifVersion);
            if (change) changes.push(change);
            else unchanged++;
            if ('database' in op) touched.push(op.database.name);
          } else if ('database' in op) {
            await databases.inTransaction.remove(tx, c, op.database, op.ifVersion);
            changes.push({ kind: 'database', name: op.database, action: 'delete' });
          } else {
            const existing = await lookup.mapping(op.mapping);
            if (!existing) throw new AppError('not_found', `no mapping named "${op.mapping}" (operations.${i})`);
            await mappings.inTransaction.remove(tx, c, existing.id, op.ifVersion);
            changes.push({ kind: 'mapping', name: op.mapping, action: 'delete' });
          }
        }
        return { changes, unchanged, touchedDatabases: touched };
      });
    },

    /** Today's state in the format apply reads. */
    async export(): Promise<AccessDocument> {
      const now = byName(await loadAccessModel(store));
      const policies = await listRequestPolicies(store);
      return {
        databases: [...now.databases.values()].map(databaseDeclaration).sort((a, b) => a.name.localeCompare(b.name)) as AccessDocument['databases'],
        mappings: [...now.mappings.values()].map(mappingDeclaration).sort((a, b) => a.name.localeCompare(b.name)),
        ...(policies.length ? { requestPolicies: policies } : {}),
      };
    },
  };
}
