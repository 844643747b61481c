import type { Engine } from './engine.js';
import { mysqlEngine } from './mysql/mysql-engine.js';
import { postgresEngine } from './postgres/postgres-engine.js';
import { valkeyEngine } from './valkey/valkey-engine.js';

// Every engine dab brokers, by its registration name. Adding an engine: its module, and one line here.
export const ENGINES: readonly Engine[] = [postgresEngine, mysqlEngine, valkeyEngine];

/** What a registration without `engine` means (every database registered before engines existed). */
export const DEFAULT_ENGINE = 'postgres';

export const ENGINE_NAMES: readonly string[] = ENGINES.map((e) => e.name);

const byName = new Map(ENGINES.map((e) => [e.name, e]));

export function engineNamed(name: string): Engine | undefined {
  return byName.get(name);
}

/** The engine of a stored registration (validated when written, so an unknown one is a bug). */
export function engineOf(db: { engine: string }): Engine {
  const engine = byName.get(db.engine);
  if (!engine) throw new Error(`database registered with unknown engine "${db.engine}"`);
  return engine;
}
