import { Type } from 'typebox';

// The access levels and the name shapes every engine shares, in a module with no dependencies of
// its own: engines (src/engines/) build their schemas from it while database-schema.ts builds the
// registration from the engines.

export const ACCESS_LEVELS = ['ro', 'rw', 'monitor'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];
export const AccessLevelSchema = Type.Enum([...ACCESS_LEVELS], { description: 'ro, rw or monitor' });

/** Bare DNS name or IPv4 address: no scheme, port, path or CNAME-looking trailing dot. */
export const HOSTNAME = '^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';
