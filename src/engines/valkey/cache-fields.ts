// What an ElastiCache registration must say, checked where JSON Schema cannot: the signed host of
// an ElastiCache IAM token is the cache *name*, so an endpoint in its place signs tokens that can
// never log in; and an ro level's access string must not grant writes.
import { Type } from 'typebox';
import type { Database } from '../../databases/database-schema.js';
import type { FieldProblem } from '../engine.js';

// Replication group ids and serverless cache names: 1–40 of a-z 0-9 -, a letter first, no "--", no trailing "-".
const CACHE_NAME = /^[a-z](?:[a-z0-9]|-(?!-)){0,39}$/;

export function cacheNameProblems(name: string, field: string): FieldProblem[] {
  if (/[.:/]/.test(name)) {
    return [{ field, message: 'must be the cache name (replication group id or serverless cache name), not an endpoint: ElastiCache IAM tokens are signed for the name' }];
  }
  if (name !== name.toLowerCase()) return [{ field, message: 'must be lower case: ElastiCache signs tokens for the lower-case cache name' }];
  if (!CACHE_NAME.test(name) || name.endsWith('-')) {
    return [{ field, message: 'must be 1-40 lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen' }];
  }
  return [];
}

// One ACL rule of an ElastiCache access string (Redis ACL syntax): on/off, key and channel patterns,
// command and category grants. Password rules (>pw, nopass, ...) have no place with IAM auth.
const RULE = /^(?:on|off|allkeys|allchannels|resetkeys|resetchannels|allcommands|nocommands|%R?W?~\S*|~\S*|&\S*|[+-]@[a-z]+|[+-][a-z][a-z0-9_-]*(?:\|[a-z][a-z0-9_-]*)?)$/i;
// Grants that let a session write (or do anything): refused on ro. @scripting and @admin are in
// the list because EVAL and CONFIG/DEBUG can write too.
const RO_FORBIDDEN = new Set(['+@all', 'allcommands', '+@write', '+@dangerous', '+@admin', '+@scripting']);

export function accessStringProblems(accessString: string, level: string, field: string): FieldProblem[] {
  const rules = accessString.trim().split(/\s+/).filter(Boolean);
  if (rules.length === 0) return [{ field, message: 'must not be empty (e.g. "on ~* +@read")' }];
  const bad = rules.find((r) => !RULE.test(r));
  if (bad) return [{ field, message: `has a rule ElastiCache access strings do not take with IAM auth: "${bad}"` }];
  const problems: FieldProblem[] = [];
  if (!rules.some((r) => r.toLowerCase() === 'on')) problems.push({ field, message: 'must contain "on": an "off" user cannot log in' });
  if (level === 'ro') {
    const granted = rules.filter((r) => RO_FORBIDDEN.has(r.toLowerCase()));
    if (granted.length > 0) problems.push({ field, message: `grants ${granted.join(', ')}, which lets the ro level write; use e.g. "on ~* -@all +@read"` });
  }
  return problems;
}

export const TLS_MODES = ['require', 'verify-full'] as const;

/** Registration fields of an ElastiCache cache (host and port are its endpoint, as for every engine). */
export const VALKEY_FIELDS = {
  cacheName: Type.String({ minLength: 1, maxLength: 255, description: 'The cache name the tokens are signed for: replication group id or serverless cache name, lower case (not the endpoint)' }),
  serverless: Type.Boolean({ description: 'A serverless cache (its tokens carry ResourceType=ServerlessCache); default false' }),
  tls: Type.Enum([...TLS_MODES], { description: 'In-transit encryption, which ElastiCache IAM auth requires: verify-full (default) or require (no certificate check); there is no "off"' }),
};
export const VALKEY_LEVEL_FIELDS = {
  accessString: Type.String({ minLength: 1, maxLength: 2048, description: 'The ElastiCache user\'s access string (Redis ACL rules), e.g. "on ~* -@all +@read"; an ro level may not grant +@all, allcommands, +@write, +@dangerous, +@admin or +@scripting' }),
};

/** What the valkey engine reads of a registration (validated by VALKEY_FIELDS). */
export interface CacheSettings {
  cacheName: string;
  serverless: boolean;
  tls: (typeof TLS_MODES)[number];
}
export const cacheSettings = (db: Database): CacheSettings => db as unknown as CacheSettings;
export const accessStringOf = (db: Database, level: string): string => ((db.levels as Record<string, { accessString?: string } | undefined>)[level]?.accessString ?? '');

// ElastiCache user ids: a letter, then letters, digits and single hyphens; dab keeps user name = user id.
const CACHE_USER = /^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,39}$/;

export function cacheRegistrationProblems(db: Database): FieldProblem[] {
  const problems = cacheNameProblems(cacheSettings(db).cacheName, 'body.cacheName');
  if (db.host === cacheSettings(db).cacheName) {
    problems.push({ field: 'body.host', message: 'is the cache name: host must be the endpoint to connect to (e.g. master.<name>.xxxxxx.euw1.cache.amazonaws.com)' });
  }
  for (const [level, spec] of Object.entries(db.levels)) {
    if (!spec) continue;
    if (!CACHE_USER.test(spec.dbUser) || spec.dbUser.endsWith('-')) {
      problems.push({ field: `body.levels.${level}.dbUser`, message: 'must be an ElastiCache user id: 1-40 letters, digits and single hyphens, starting with a letter' });
    } else if (spec.dbUser.toLowerCase() === 'default') {
      problems.push({ field: `body.levels.${level}.dbUser`, message: 'must not be "default": that user exists in every user group and dab keeps it disabled' });
    }
    problems.push(...accessStringProblems(accessStringOf(db, level), level, `body.levels.${level}.accessString`));
  }
  return problems;
}
