import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';

export interface AclUsers {
  /** The ACL user standing for an ElastiCache user, with the password only the gate holds. */
  lookup(user: string): { username: string; password: string } | undefined;
  /** Deletes every ACL user this created. */
  remove(): Promise<void>;
}

// Password rules would let a level log in without the gate; the gate sets the only password.
const PASSWORD_RULE = /^(?:[><#!]|nopass$|resetpass$)/i;

/**
 * Creates one Redis ACL user per ElastiCache user, named prefix + user, with the level's access
 * string (ElastiCache access strings are Redis ACL rules, e.g. "on ~* +@read") and a random
 * password. A unique prefix per run keeps parallel runs (and the shared server) apart.
 */
export async function createAclUsers(server: { host: string; port: number }, prefix: string, users: Record<string, string>): Promise<AclUsers> {
  const created = new Map<string, { username: string; password: string }>();
  const dropAll = (send: Send) => (created.size > 0 ? send(['ACL', 'DELUSER', ...[...created.values()].map((a) => a.username)]) : Promise.resolve());
  await withAdmin(server, async (send) => {
    try {
      for (const [user, accessString] of Object.entries(users)) {
        const rules = accessString.split(/\s+/).filter(Boolean);
        if (rules.some((r) => PASSWORD_RULE.test(r))) throw new Error(`access string of ${user} may not set passwords`);
        const acl = { username: `${prefix}${user}`, password: randomBytes(24).toString('hex') };
        await send(['ACL', 'SETUSER', acl.username, 'reset', ...rules, `>${acl.password}`]);
        created.set(user, acl);
      }
    } catch (err) {
      await dropAll(send).catch(() => undefined);
      throw err;
    }
  });
  return {
    lookup: (user) => created.get(user),
    remove: () => withAdmin(server, dropAll).then(() => undefined),
  };
}

type Send = (command: string[]) => Promise<unknown>;

/** One short admin connection (the shared server's default user), closed whatever happens. */
async function withAdmin<T>(server: { host: string; port: number }, fn: (send: Send) => Promise<T>): Promise<T> {
  const client = createClient({ socket: { host: server.host, port: server.port, reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn((command) => client.sendCommand(command));
  } finally {
    client.destroy();
  }
}
