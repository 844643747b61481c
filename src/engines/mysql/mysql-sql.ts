// Quoting for the MySQL/MariaDB SQL dab generates. Names come from registrations (already
// restricted) and from the bootstrap query string (anything), so both are quoted always.

/** MySQL and MariaDB limit identifiers (databases, tables) to 64 characters. */
export const MAX_MYSQL_IDENTIFIER = 64;

/** A back-quoted identifier: back quotes doubled. */
export function quoteMysqlIdent(name: string): string {
  if (name.length === 0 || name.length > MAX_MYSQL_IDENTIFIER || name.includes('\u0000')) throw new RangeError(`not a MySQL identifier: ${JSON.stringify(name)}`);
  return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * A string literal that reads the same whatever sql_mode says: quotes and backslashes escaped
 * (NO_BACKSLASH_ESCAPES off), and neither appears in names dab registers anyway.
 */
export function quoteMysqlString(value: string): string {
  if (value.includes('\u0000')) throw new RangeError('a SQL literal cannot contain a NUL character');
  if (value.includes('\\')) throw new RangeError('a backslash reads differently under NO_BACKSLASH_ESCAPES');
  return `'${value.replace(/'/g, "''")}'`;
}

/** 'user'@'%': the account a level's login user is (from anywhere: RDS decides reachability). */
export const mysqlAccount = (user: string) => `${quoteMysqlString(user)}@'%'`;
