import type { CreateDatabaseBody, Database } from '../databases/database-schema.js';
import type { Mapping } from '../mappings/mapping-schema.js';
import type { MappingDeclaration } from './admin-schema.js';

// Stored records ↔ declarations (what a DBA writes in access.yaml), and when two mean the same.

export function databaseDeclaration(d: Database): CreateDatabaseBody {
  const { version: _v, createdAt: _c, updatedAt: _u, ...declaration } = d;
  return declaration;
}

export function mappingDeclaration(m: Mapping): MappingDeclaration {
  const { id: _id, version: _v, createdAt: _c, updatedAt: _u, ...declaration } = m;
  return declaration;
}

const TIMESTAMPS = new Set(['notBefore', 'expiresAt']);

/** One canonical form: keys sorted, defaults and empties dropped, level lists sorted, instants normalised. */
function canonical(value: unknown, key = ''): unknown {
  if (TIMESTAMPS.has(key) && typeof value === 'string') return new Date(value).toISOString();
  if (key === 'levels' && Array.isArray(value)) return [...value].sort();
  if (Array.isArray(value)) return value.map((v) => canonical(v));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([k, v]) => v !== undefined && !(k === 'requireReason' && v === false) && !(k === 'labels' && Object.keys(v as object).length === 0))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, canonical(v, k)]);
    return Object.fromEntries(entries);
  }
  return value;
}

export function sameDeclaration(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
