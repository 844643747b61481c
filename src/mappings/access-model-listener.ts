import type { FastifyBaseLogger } from 'fastify';
import type { Store } from '../store/store.js';
import type { AccessModelCache } from './access-model-cache.js';

/** The channel migration 014's version bump NOTIFYs on, with the new version as payload. */
export const ACCESS_MODEL_CHANNEL = 'dab_access_model';

/**
 * Replicas on one store hear each other's changes to databases and mappings at once: the bump
 * trigger NOTIFYs at commit and every replica LISTENs, dropping its in-memory model on each
 * notification. This only shortens the delay. The version poll (maxStalenessMs) stays the bound:
 * a notification lost with its connection, or a connection that looks alive but is not, can make
 * a replica no staler than the poll allows. On each (re)connect the model is dropped too, for the
 * notifications that were sent while nobody listened.
 */
export function listenForAccessModelChanges(store: Store, cache: Pick<AccessModelCache, 'changed'>, log: FastifyBaseLogger) {
  if (!store.listen) return { start: async () => undefined, stop: async () => undefined, listening: () => false };
  let lostBefore = false;
  const listener = store.listen(ACCESS_MODEL_CHANNEL, {
    onNotify: (payload) => cache.changed(payload),
    onListening: () => {
      if (lostBefore) log.info('access-model LISTEN re-established');
      cache.changed();
    },
    onLost: (err, retryInMs) => {
      lostBefore = true;
      log.warn({ err: { message: err.message }, retryInMs }, 'access-model LISTEN connection lost; the version poll covers it until it is back');
    },
  });
  return { start: () => listener.start(), stop: () => listener.stop(), listening: () => listener.listening };
}
