import type { PathSegment } from './admin-yaml.js';

// What dab's schema patterns mean, said the way a DBA would fix them.
const PATTERN_HINTS: Record<string, string> = {
  region: 'must be an AWS region, e.g. eu-west-1',
  host: 'must be the endpoint host alone (no scheme, port, path or trailing dot), e.g. orders.cluster-abc.eu-west-1.rds.amazonaws.com',
  roleArn: 'must be an IAM role ARN, e.g. arn:aws:iam::123456789012:role/dab-orders',
  dbUser: "must be a DB user name of the database's engine (PostgreSQL: a-z, 0-9, _ and $, starting with a letter or _, not pg_; MySQL: at most 32 characters)",
  dbname: 'must be a database name: letters, digits, _, $ and -, starting with a letter or _',
  externalId: 'must be 2-1224 characters: letters, digits and +=,.@:/-',
  resourceId: 'must be an RDS resource id, e.g. db-ABCDEFGHIJKLMNOP or cluster-ABCDEFGHIJKLMNOP',
  name: 'must be a slug: lower-case letters, digits and dashes (at most 63, not starting or ending with a dash)',
  database: 'must be a database name as registered: lower-case letters, digits and dashes',
};

const KEYS: Record<string, string> = {
  databases: 'name, engine, host, port, region, dbname, roleArn, externalId, sslmode, description, labels, resourceId, levels',
  mappings: 'name, principal, database, selector, levels, notBefore, expiresAt, requireReason, description, owner',
};

/** dab's schema messages (Ajv's wording) made specific where the path says what the field is. */
export function friendlier(path: PathSegment[], message: string): string {
  const leaf = [...path].reverse().find((s): s is string => typeof s === 'string') ?? '';
  const inLabels = path.includes('labels') || path.includes('selector');
  if (message.startsWith('must match pattern')) {
    if (inLabels) return 'label values: at most 63 letters, digits, ., _ and -, starting and ending with a letter or digit';
    const hint = PATTERN_HINTS[leaf];
    if (hint) return hint;
  }
  if (message === 'must NOT have additional properties') {
    if (inLabels) return 'label keys: at most 63 lower-case letters, digits, ., _, / and -, starting and ending with a letter or digit';
    const section = typeof path[0] === 'string' ? KEYS[path[0]] : undefined;
    if (section && path.length === 3) return `unknown key "${leaf}" (a ${String(path[0]).slice(0, -1)} has: ${section})`;
    if (path.includes('principal')) return `unknown key "${leaf}": a principal is issuer plus one of subject, group or claim {name, value}`;
    return `unknown key "${leaf}"`;
  }
  if (message === 'must match a schema in anyOf' && leaf === 'principal') return 'must be issuer plus exactly one of subject, group or claim {name, value}';
  if (leaf === 'selector' && message === 'must NOT have fewer than 1 properties') return 'needs at least one label, e.g. { env: prod } (or name one database instead)';
  if (message === 'must match format "date-time"') return 'must be an ISO 8601 instant with a time zone, e.g. 2025-07-01T09:00:00Z';
  return message;
}
