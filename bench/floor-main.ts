// A floor server in its own process (forked by grant-bench.ts, like dab is spawned), so it is
// measured as dab is: alone in its process, with its own CPU time and memory.
// Env: FLOOR_KIND (lean | audit), DATABASE_URL, FLOOR_ISSUER, FLOOR_JWKS_URL. Reports its port over IPC.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { parseConfig } from '../src/config/load-config.js';
import { openStore } from '../src/store/open-store.js';
import { buildAuditFloor, buildLeanFloor } from './floor-server.js';

export type FloorKind = 'lean' | 'audit';
export type FloorReady = { port: number };

const kind = process.env.FLOOR_KIND as FloorKind;
const url = process.env.DATABASE_URL;
if ((kind !== 'lean' && kind !== 'audit') || !url || !process.env.FLOOR_ISSUER || !process.env.FLOOR_JWKS_URL) {
  console.error('floor-main: needs FLOOR_KIND (lean|audit), DATABASE_URL, FLOOR_ISSUER and FLOOR_JWKS_URL');
  process.exit(2);
}

// dab's config defaults (log level, pool size, JWT options), with only what dab is given set too.
const config = parseConfig({
  store: { url },
  auth: { issuers: [{ issuer: process.env.FLOOR_ISSUER, audience: 'dab', jwksUrl: process.env.FLOOR_JWKS_URL, algorithms: ['RS256'] }] },
  audit: { fingerprintKey: randomBytes(32).toString('hex') },
});

const closers: Array<() => Promise<unknown>> = [];
let app;
if (kind === 'lean') {
  const pool = new pg.Pool({ connectionString: url, max: config.store.poolMax, application_name: 'dab-bench-floor' });
  pool.on('error', (err) => console.error(`floor pool: ${err.message}`));
  closers.push(() => pool.end());
  app = buildLeanFloor(config, pool);
} else {
  const store = await openStore(config.store, (err) => console.error(`floor store: ${err.message}`));
  closers.push(() => store.close());
  app = buildAuditFloor(config, store);
}
closers.unshift(() => app.close());
await app.listen({ host: '127.0.0.1', port: 0 });

let closing = false;
async function shutdown(): Promise<void> {
  if (closing) return;
  closing = true;
  for (const close of closers) await close().catch(() => undefined);
  process.exit(0);
}
// The parent going away (done, crash, Ctrl-C) ends the floor: no server outlives its bench.
process.once('disconnect', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
process.send?.({ port: (app.server.address() as AddressInfo).port } satisfies FloorReady);
