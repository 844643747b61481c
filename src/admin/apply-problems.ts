import { AppError, type ProblemFieldError } from '../http/problem.js';
import { orphanedMappings } from '../mappings/mapping-checks.js';
import type { Queryable } from '../store/store.js';

// An apply reports every problem of its document in one answer, each at its document path
// (`body.document.mappings.2.selector`), so `dab admin apply` can show each at FILE:LINE:COL.

/** Enough to fix a document by; a huge bad document must not produce a huge answer. */
export const MAX_PROBLEMS = 100;

export interface ApplyProblems {
  /** Schema-valid but not acceptable (unknown database, level not defined, overlap, …). */
  invalid: ProblemFieldError[];
  /** Against what the store holds (a level still granted, a pruned database still named). */
  conflicts: ProblemFieldError[];
  readonly full: boolean;
  /** 400 validation_failed, or 409 conflict when every problem is a conflict; undefined when none. */
  error(): AppError | undefined;
}

export function applyProblems(): ApplyProblems {
  const invalid: ProblemFieldError[] = [];
  const conflicts: ProblemFieldError[] = [];
  return {
    invalid,
    conflicts,
    // One past the cap, so the answer can tell "exactly 100" from "more than 100".
    get full() {
      return invalid.length + conflicts.length > MAX_PROBLEMS;
    },
    error() {
      const all = [...invalid, ...conflicts];
      if (!all.length) return undefined;
      const errors = all.slice(0, MAX_PROBLEMS);
      const count = all.length > MAX_PROBLEMS ? `more than ${MAX_PROBLEMS} problems (the first ${MAX_PROBLEMS} are listed)` : `${all.length} problem(s)`;
      const shown = errors.slice(0, 3).map((e) => `${e.field} ${e.message}`).join('; ');
      const more = errors.length > 3 ? `; and ${errors.length - 3} more in errors` : '';
      return new AppError(invalid.length ? 'validation_failed' : 'conflict', `the document has ${count}; nothing was applied: ${shown}${more}`, { errors });
    },
  };
}

export function duplicateNames(items: ReadonlyArray<{ name: string }>, field: string): ProblemFieldError[] {
  const first = new Map<string, number>();
  return items.flatMap((item, i) => {
    const seen = first.get(item.name);
    if (seen === undefined) {
      first.set(item.name, i);
      return [];
    }
    return [{ field: `${field}.${i}.name`, message: `"${item.name}" is declared twice (also at ${field.replace(/^body\./, '')}.${seen})` }];
  });
}

// The first declaration of each name (a second one is reported as a duplicate and not planned).
const indexByName = (items: ReadonlyArray<{ name: string }>) => {
  const at = new Map<string, number>();
  items.forEach((item, i) => at.has(item.name) || at.set(item.name, i));
  return at;
};

/**
 * Mappings by name that grant a level their database would no longer define: placed on the
 * mapping's declaration when the document has one, else on the database's levels. `skip` names
 * declared mappings already reported (not written), whose old version is not news.
 */
export async function orphanProblems(
  tx: Queryable,
  declared: { databases: ReadonlyArray<{ name: string }>; mappings: ReadonlyArray<{ name: string }> },
  skip: ReadonlySet<string>,
): Promise<ProblemFieldError[]> {
  const mappingAt = indexByName(declared.mappings);
  const databaseAt = indexByName(declared.databases);
  const orphans = await orphanedMappings(tx, declared.databases.map((d) => d.name));
  return orphans.filter((o) => !skip.has(o.name)).map((o) => {
    const levels = o.missing.join(', ');
    const m = mappingAt.get(o.name);
    if (m !== undefined) return { field: `body.document.mappings.${m}.levels`, message: `grants ${levels}, which database "${o.database}" would no longer define` };
    return { field: `body.document.databases.${databaseAt.get(o.database)}.levels`, message: `would no longer define ${levels}, which mapping "${o.name}" still grants; change that mapping first` };
  });
}

/**
 * Mappings (by name) that keep a database prune would delete. Asked before the DELETE, whose
 * foreign-key error would abort a PostgreSQL transaction and so end the collecting.
 */
export async function pruneBlockers(tx: Queryable, database: string, declaredMappings: ReadonlyArray<{ name: string }>): Promise<ProblemFieldError[]> {
  const { rows } = await tx.query<{ name: string }>('SELECT name FROM mappings WHERE database_name = $1 ORDER BY name', [database]);
  const mappingAt = indexByName(declaredMappings);
  return rows.map((r) => {
    const m = mappingAt.get(r.name);
    const message = `names database "${database}", which prune would delete (the document does not declare it): declare it, or retarget this mapping`;
    return m !== undefined ? { field: `body.document.mappings.${m}.database`, message } : { field: 'body.prune', message: `would delete database "${database}", still named by mapping "${r.name}"` };
  });
}
