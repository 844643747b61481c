import { Type, type TSchema } from 'typebox';
import type { Database, DatabaseInput } from '../databases/database-schema.js';
import type { Engine, FieldProblem } from './engine.js';
import { DEFAULT_ENGINE, ENGINES, engineNamed } from './registry.js';

// A registration is a union on `engine`: the fields every engine shares, plus the chosen engine's
// own. JSON Schema cannot apply per-branch defaults (Ajv ignores defaults under oneOf) nor name the
// offending field of a failed branch, so the HTTP schema lists every engine's fields (each saying
// which engines take it) and the union's rules are checked here, each problem naming its field.

/** Every engine's fields, one schema per name; a field two engines share (dbname) is described once. */
function merged(fieldsOf: (e: Engine) => Readonly<Record<string, TSchema>>): Record<string, TSchema> {
  const out: Record<string, TSchema> = {};
  const owners = new Map<string, string[]>();
  for (const engine of ENGINES) {
    for (const [field, schema] of Object.entries(fieldsOf(engine))) {
      owners.set(field, [...(owners.get(field) ?? []), engine.name]);
      out[field] ??= schema;
    }
  }
  for (const [field, schema] of Object.entries(out)) {
    // Defaults are the engine's (filled in by withEngineDefaults): in the schema they would land on every engine.
    const { default: _d, description, ...rest } = schema as TSchema & { default?: unknown; description?: string };
    out[field] = Type.Optional(Type.Unsafe({ ...rest, description: `${description ? `${description}. ` : ''}Engine: ${owners.get(field)!.join(', ')}` }));
  }
  return out;
}

export const ENGINE_FIELDS = merged((e) => e.registration.fields);
export const ENGINE_LEVEL_FIELDS = merged((e) => e.registration.levelFields);
export const ENGINE_GRANT_FIELDS = merged((e) => e.grant.schema);

/** Fields every engine takes (database-schema.ts), so they are never reported as foreign. */
export const COMMON_FIELDS = new Set(['name', 'engine', 'host', 'port', 'region', 'roleArn', 'externalId', 'description', 'labels', 'levels', 'version', 'createdAt', 'updatedAt']);
const COMMON_LEVEL_FIELDS = new Set(['dbUser', 'roleArn']);

/** The body with the engine's defaults filled in (engine itself, port, e.g. sslmode). */
export function withEngineDefaults<T extends DatabaseInput>(input: T): T & { engine: string; port: number } {
  const name = input.engine ?? DEFAULT_ENGINE;
  const engine = engineNamed(name);
  const defaults = engine?.registration.defaults ?? { port: 0 };
  const filled: Record<string, unknown> = { ...input, engine: name };
  for (const [field, value] of Object.entries(defaults)) if (filled[field] === undefined) filled[field] = value;
  return filled as T & { engine: string; port: number };
}

function foreignFields(given: object, own: Readonly<Record<string, unknown>>, common: ReadonlySet<string>, at: string, engine: string): FieldProblem[] {
  return Object.keys(given)
    .filter((field) => !common.has(field) && !(field in own) && (given as Record<string, unknown>)[field] !== undefined)
    .map((field) => ({ field: `${at}${field}`, message: `is not a field of engine ${engine}` }));
}

const missing = (given: object, required: readonly string[], at: string, engine: string): FieldProblem[] =>
  required.filter((f) => (given as Record<string, unknown>)[f] === undefined).map((f) => ({ field: `${at}${f}`, message: `is required for engine ${engine}` }));

/** The union's rules, then the engine's own: fields of another engine, missing fields, engine rules. */
export function engineProblems(db: Database, engines: readonly Engine[] = ENGINES): FieldProblem[] {
  const engine = engines.find((e) => e.name === db.engine);
  if (!engine) return [{ field: 'body.engine', message: `must be one of ${engines.map((e) => e.name).join(', ')}` }];
  const r = engine.registration;
  const problems = [...foreignFields(db, r.fields, COMMON_FIELDS, 'body.', engine.name), ...missing(db, r.required, 'body.', engine.name)];
  for (const [level, spec] of Object.entries(db.levels)) {
    if (!spec) continue;
    problems.push(...foreignFields(spec, r.levelFields, COMMON_LEVEL_FIELDS, `body.levels.${level}.`, engine.name), ...missing(spec, r.requiredLevelFields, `body.levels.${level}.`, engine.name));
  }
  // The engine's rules assume its fields are there and its own.
  return problems.length ? problems : r.problems(db);
}
