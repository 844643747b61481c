// Quoting for SQL that dab generates for DBAs to run. Registered names are already restricted, but
// schema names come from a query string, and generated SQL must be right for any name it is given.

/** PostgreSQL truncates longer identifiers (NAMEDATALEN 64), which would silently retarget a GRANT. */
export const MAX_IDENTIFIER_BYTES = 63;

/** Why a name cannot be an identifier, or undefined when it can. */
export function identifierProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.includes('\u0000')) return 'contains a NUL character';
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) return `is longer than ${MAX_IDENTIFIER_BYTES} bytes (PostgreSQL would truncate it)`;
  return undefined;
}

/** A double-quoted identifier, as PostgreSQL's quote_ident would write it (always quoted: no keyword surprises). */
export function quoteIdent(name: string): string {
  const problem = identifierProblem(name);
  if (problem) throw new RangeError(`identifier ${JSON.stringify(name)} ${problem}`);
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A string literal, as PostgreSQL's quote_literal writes it: quotes doubled, and with a backslash
 * present an E'' literal with backslashes doubled, so it reads the same whatever
 * standard_conforming_strings is set to.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\u0000')) throw new RangeError('a SQL literal cannot contain a NUL character');
  const quoted = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

/** Dollar-quotes a PL/pgSQL body with a tag that does not occur in it. */
export function dollarQuote(body: string): string {
  let tag = '$dab$';
  for (let n = 1; body.includes(tag); n++) tag = `$dab${n}$`;
  return `${tag}\n${body}\n${tag}`;
}
