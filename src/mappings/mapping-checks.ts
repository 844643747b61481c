import { ACCESS_LEVELS, type AccessLevel, type Database } from '../databases/database-schema.js';
import type { ProblemFieldError } from '../http/problem.js';
import type { Queryable } from '../store/store.js';
import { AWS_ISSUER } from '../auth/aws-principal.js';
import type { MappingInput } from './mapping-schema.js';
import { principalColumns } from './mappings-repo.js';

// What a mapping must satisfy beyond its JSON schema, checked inside the change's transaction so
// it sees the databases and mappings as they are (or as an apply has made them so far).

interface Context {
  tx: Queryable;
  issuers: readonly string[];
  at: Date;
  /** Where errors point: "body." for the REST API, "body.document.mappings.3." for apply. */
  field: string;
  /** The mapping being replaced, which must not count as overlapping itself. */
  selfId?: string;
}

const defined = (db: Pick<Database, 'levels'>) => ACCESS_LEVELS.filter((l) => db.levels[l]);

export async function mappingProblems(input: MappingInput, { tx, issuers, at, field, selfId }: Context): Promise<ProblemFieldError[]> {
  const errors: ProblemFieldError[] = [];
  const problem = (name: string, message: string) => errors.push({ field: `${field}${name}`, message });
  const p = input.principal;
  if ('aws' in p || 'awsAccount' in p) {
    if (!issuers.includes(AWS_ISSUER)) problem('principal', 'names an AWS principal, but this dab does not accept AWS IAM callers (configure auth.aws)');
  } else if (p.issuer === AWS_ISSUER) {
    problem('principal.issuer', `"${AWS_ISSUER}" is reserved for AWS IAM callers: name them as { aws: <role ARN> } or { awsAccount: <account id> }`);
  } else if (!issuers.includes(p.issuer)) {
    problem('principal.issuer', `is not a configured issuer (${issuers.filter((i) => i !== AWS_ISSUER).join(', ')})`);
  }

  if (input.database !== undefined && input.selector !== undefined) problem('selector', 'give either database (one by name) or selector (by labels), not both');
  else if (input.database === undefined && input.selector === undefined) problem('database', 'is required unless a selector (labels) is given');
  else {
    const { rows } = input.database !== undefined
      ? await tx.query<Pick<Database, 'name' | 'levels'>>('SELECT name, levels FROM databases WHERE name = $1', [input.database])
      : await tx.query<Pick<Database, 'name' | 'levels'>>('SELECT name, levels FROM databases WHERE labels @> $1::jsonb ORDER BY name', [JSON.stringify(input.selector)]);
    if (!rows.length) {
      if (input.database !== undefined) problem('database', `no database named "${input.database}" is registered`);
      else problem('selector', `matches no registered database (labels ${Object.entries(input.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')})`);
    } else {
      // By name: every level must exist there. By selector: each level must exist on at least one match.
      const missing = input.levels.filter((l: AccessLevel) => (input.database !== undefined ? !rows[0]?.levels[l] : !rows.some((r) => r.levels[l])));
      if (missing.length) {
        const where = input.database !== undefined ? `${input.database} (defined: ${defined(rows[0] as Database).join(', ')})` : `any of the ${rows.length} selected database(s)`;
        problem('levels', `${missing.join(', ')} not defined on ${where}`);
      }
    }
  }

  const notBefore = input.notBefore ? Date.parse(input.notBefore) : undefined;
  const expiresAt = input.expiresAt ? Date.parse(input.expiresAt) : undefined;
  if (expiresAt !== undefined && expiresAt <= at.getTime()) problem('expiresAt', 'is in the past');
  if (notBefore !== undefined && expiresAt !== undefined && notBefore >= expiresAt) problem('notBefore', 'must be before expiresAt');
  if (!errors.length) {
    const overlap = await overlapping(tx, input, selfId);
    if (overlap) problem('levels', `overlaps mapping "${overlap.name}" (same principal, same target, level(s) ${overlap.shared.join(', ')} in an overlapping time window): change that one instead, or make them disjoint`);
  }
  return errors;
}

/** Another mapping of the same principal and target granting a shared level at a shared time. */
async function overlapping(tx: Queryable, m: MappingInput, selfId: string | undefined): Promise<{ name: string; shared: string[] } | undefined> {
  const { rows } = await tx.query<{ name: string; shared: string[] }>(
    `SELECT name, ARRAY(SELECT unnest(levels) INTERSECT SELECT unnest($7::text[]) ORDER BY 1) AS shared FROM mappings
     WHERE issuer = $1 AND subject IS NOT DISTINCT FROM $2 AND group_name IS NOT DISTINCT FROM $3
       AND claim_name IS NOT DISTINCT FROM $4 AND claim_value IS NOT DISTINCT FROM $5
       AND (database_name = $6 OR selector = $8::jsonb) AND levels && $7::text[]
       AND coalesce(not_before, '-infinity') < coalesce($10::timestamptz, 'infinity')
       AND coalesce($9::timestamptz, '-infinity') < coalesce(expires_at, 'infinity')
       AND ($11::uuid IS NULL OR id <> $11::uuid)
     ORDER BY name LIMIT 1`,
    [
      ...principalColumns(m.principal),
      m.database ?? null,
      m.levels,
      m.selector ? JSON.stringify(m.selector) : null,
      m.notBefore ?? null,
      m.expiresAt ?? null,
      selfId ?? null,
    ],
  );
  return rows[0];
}

/** Mappings by name that grant a level their database no longer defines (after a database change). */
export async function orphanedMappings(tx: Queryable, databaseNames: readonly string[]): Promise<Array<{ name: string; database: string; missing: string[] }>> {
  if (!databaseNames.length) return [];
  const { rows } = await tx.query<{ name: string; database: string; missing: string[] }>(
    `SELECT m.name, m.database_name AS database,
            ARRAY(SELECT unnest(m.levels) EXCEPT SELECT jsonb_object_keys(d.levels) ORDER BY 1) AS missing
     FROM mappings m JOIN databases d ON d.name = m.database_name
     WHERE m.database_name = ANY($1::text[]) AND NOT (d.levels ?& m.levels) ORDER BY m.name`,
    [databaseNames],
  );
  return rows;
}
