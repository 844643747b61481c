import type { Caller } from '../auth/caller.js';
import type { AccessLevel, Database } from '../databases/database-schema.js';
import type { Mapping } from './mapping-schema.js';

export type DenyReason = 'unknown_database' | 'level_not_defined' | 'no_mapping' | 'level_not_granted' | 'mapping_expired';

export type Decision =
  | { allowed: true; rule: string; dbUser: string; roleArn: string }
  | { allowed: false; reason: DenyReason; rule: string | null };

export interface DecisionInput {
  caller: Caller;
  level: AccessLevel;
  database: Database | undefined;
  /** Mappings for this database whose principal names the caller (by subject or one of its groups). */
  mappings: Mapping[];
  now: Date;
}

// Subject mappings are more specific than group mappings, so they are named as the deciding rule first.
const specificity = (m: Mapping): number => ('subject' in m.principal ? 0 : 1);

/** Pure authorisation: which mapping allows this caller this level, or exactly why none does. */
export function decideAccess({ caller, level, database, mappings, now }: DecisionInput): Decision {
  if (!database) return { allowed: false, reason: 'unknown_database', rule: null };
  const spec = database.levels[level];
  if (!spec) return { allowed: false, reason: 'level_not_defined', rule: null };

  const mine = mappings
    .filter((m) => m.database === database.name && m.principal.issuer === caller.issuer)
    .filter((m) => ('subject' in m.principal ? m.principal.subject === caller.subject : caller.groups.includes(m.principal.group)))
    .sort((a, b) => specificity(a) - specificity(b) || a.id.localeCompare(b.id));
  const live = (m: Mapping) => !m.expiresAt || Date.parse(m.expiresAt) > now.getTime();

  const allowing = mine.find((m) => live(m) && m.levels.includes(level));
  if (allowing) return { allowed: true, rule: allowing.id, dbUser: spec.dbUser, roleArn: spec.roleArn ?? database.roleArn };

  const expired = mine.find((m) => !live(m) && m.levels.includes(level));
  if (expired) return { allowed: false, reason: 'mapping_expired', rule: expired.id };
  const otherLevels = mine.find(live);
  if (otherLevels) return { allowed: false, reason: 'level_not_granted', rule: otherLevels.id };
  return { allowed: false, reason: 'no_mapping', rule: null };
}
