import { Readable } from 'node:stream';
import { AppError } from '../http/problem.js';
import { findMapping } from '../mappings/mappings-repo.js';
import type { Store } from '../store/store.js';
import { decodeCursor, encodeCursor } from './audit-cursor.js';
import { csvHeader, csvRow, type ExportFormat } from './audit-export-format.js';
import { findByAccessKeyId, findByFingerprints, findHolders, findRequestChains, listEvents, maxEventId, type EventRow } from './audit-query-repo.js';
import { DEFAULT_PAGE_LIMIT, FILTER_KEYS, MAX_PAGE_LIMIT, type AuditEventJson, type EventFilter, type EventsQuery, type ExportQuery, type HoldersQuery, type LookupRequest } from './audit-query-schema.js';

export interface AuditQueryDeps {
  store: Store;
  /** The same keyed fingerprint the grant path stores, so a presented token can be matched. */
  fingerprint: (token: string) => string;
  /** Rows per query while exporting: bounds memory (about two batches) whatever the export's size. */
  exportBatchSize?: number;
}

export type AuditQueryService = ReturnType<typeof createAuditQueryService>;

// Rows per chunk handed to the response stream: big enough to be cheap, small enough that a
// paused client holds back the producer after a few hundred rows, not a whole batch.
const ROWS_PER_CHUNK = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const badQuery = (field: string, message: string) =>
  new AppError('validation_failed', `querystring.${field} ${message}`, { errors: [{ field: `querystring.${field}`, message }] });

/**
 * RFC 3339 admits instants that PostgreSQL or JS do not (leap seconds, year 0000): they are a 400
 * here, not an error from the store.
 */
function instant(field: string, value: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || value.startsWith('0000')) throw badQuery(field, 'is not a valid instant');
  return ms;
}

function filterOf(query: Partial<Record<keyof EventFilter, unknown>>): EventFilter {
  const filter: Record<string, unknown> = {};
  for (const key of FILTER_KEYS) if (query[key] !== undefined) filter[key] = query[key];
  for (const key of ['from', 'to'] as const) if (filter[key] !== undefined) instant(key, filter[key] as string);
  if (filter.from && filter.to && Date.parse(filter.from as string) > Date.parse(filter.to as string)) throw badQuery('to', 'is before from');
  return filter as EventFilter;
}

const positionOf = (row: EventRow<unknown>) => ({ at: row.position_at, id: row.id });

export function createAuditQueryService({ store, fingerprint, exportBatchSize = 5000 }: AuditQueryDeps) {
  return {
    /** One page, newest first by default; nextCursor continues strictly after the last row. */
    async events(query: EventsQuery): Promise<{ items: AuditEventJson[]; nextCursor?: string }> {
      const filter = filterOf(query);
      const order = query.order ?? 'desc';
      const after = query.cursor ? decodeCursor(query.cursor, order, filter) : undefined;
      // One row more than asked tells whether another page exists without a count(*).
      const limit = query.limit ?? DEFAULT_PAGE_LIMIT;
      const rows = await listEvents(store, { filter, order, limit: limit + 1, ...(after ? { after } : {}) });
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return { items: page.map((r) => r.event), ...(rows.length > limit && last ? { nextCursor: encodeCursor(positionOf(last), order, filter) } : {}) };
    },

    async holders(query: HoldersQuery) {
      const at = instant('at', query.at);
      const limit = query.limit ?? MAX_PAGE_LIMIT;
      const rows = await findHolders(store, query.database, query.dbUser, query.at, limit + 1);
      const page = rows.slice(0, limit);
      const current = new Map<string, unknown>();
      for (const rule of new Set(page.map((r) => r.rule))) {
        if (rule && UUID.test(rule)) current.set(rule, (await findMapping(store, rule)) ?? null);
      }
      // A grant under an approved request window carries the request id: its approval chain comes along.
      const requestIds = [...new Set(page.map((r) => r.event.accessRequestId).filter((id): id is string => typeof id === 'string'))];
      const chains = new Map<string, AuditEventJson[]>();
      for (const step of await findRequestChains(store, requestIds)) {
        const id = step.event.accessRequestId as string;
        chains.set(id, [...(chains.get(id) ?? []), step.event]);
      }
      return {
        database: query.database,
        dbUser: query.dbUser,
        at: new Date(at).toISOString(),
        truncated: rows.length > limit,
        items: page.map((r) => ({
          grant: r.event,
          mapping: r.rule && !r.event.accessRequestId
            ? {
                id: r.rule,
                recorded: r.mapping_recorded ?? null,
                recordedAt: r.mapping_recorded_at,
                recordedBy: r.mapping_event_id,
                current: current.get(r.rule) ?? null,
              }
            : null,
          ...(r.event.accessRequestId ? { accessRequest: { id: r.event.accessRequestId, chain: chains.get(r.event.accessRequestId) ?? [] } } : {}),
        })),
      };
    },

    /** The grant(s) a token or an STS access key id belongs to. The token is only ever fingerprinted. */
    async lookup(body: LookupRequest): Promise<{ items: AuditEventJson[]; truncated: boolean }> {
      let rows: EventRow[];
      if ('token' in body) {
        // Tokens copied from a libpq URI or a ticket may be URL-encoded or carry whitespace.
        const candidates = new Set([body.token, body.token.trim()]);
        try {
          candidates.add(decodeURIComponent(body.token.trim()));
        } catch {
          // Not valid percent-encoding: the raw forms are all there is.
        }
        rows = await findByFingerprints(store, [...candidates].map(fingerprint), MAX_PAGE_LIMIT + 1);
      } else {
        rows = await findByAccessKeyId(store, body.accessKeyId, MAX_PAGE_LIMIT + 1);
      }
      return { items: rows.slice(0, MAX_PAGE_LIMIT).map((r) => r.event), truncated: rows.length > MAX_PAGE_LIMIT };
    },

    /**
     * A stream of every matching event, read in keyset batches so memory stays flat however many
     * rows match, and no connection or transaction is held while a slow client reads. The first
     * batch is read before this resolves, so a store fault is still a proper 503, not a cut stream.
     * The end is fixed at the highest id of this moment: new events never make an export endless.
     */
    async export(query: ExportQuery): Promise<{ format: ExportFormat; stream: Readable }> {
      const filter = filterOf(query);
      const order = query.order ?? 'asc';
      const format: ExportFormat = query.format ?? 'ndjson';
      const maxId = await maxEventId(store);
      // NDJSON lines are the JSON PostgreSQL wrote, passed through untouched; CSV needs the fields.
      const as = format === 'csv' ? 'json' : 'text';
      const render = format === 'csv' ? (r: EventRow<unknown>) => csvRow(r.event as AuditEventJson) : (r: EventRow<unknown>) => `${r.event as string}\n`;
      const batch = (after?: { at: string; id: string }) =>
        listEvents<unknown>(store, { filter, order, as, limit: exportBatchSize, maxId, ...(after ? { after } : {}) });
      const first = await batch();

      async function* chunks(): AsyncGenerator<string> {
        if (format === 'csv') yield csvHeader();
        let rows = first;
        for (;;) {
          const last = rows[rows.length - 1];
          // Read the next batch while this one is written; a rejection surfaces at the await below.
          const next = rows.length === exportBatchSize && last ? batch(positionOf(last)) : undefined;
          next?.catch(() => undefined);
          for (let i = 0; i < rows.length; i += ROWS_PER_CHUNK) {
            yield rows.slice(i, i + ROWS_PER_CHUNK).map(render).join('');
          }
          if (!next) return;
          rows = await next;
        }
      }
      // Byte mode with a small high-water mark: the generator runs only as fast as the client reads.
      return { format, stream: Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 }) };
    },
  };
}
