import { createHash } from 'node:crypto';
import { AppError } from '../http/problem.js';
import { FILTER_KEYS, type EventFilter, type Order } from './audit-query-schema.js';

/** A position in the (occurred_at, id) order: the last row of a page. */
export interface Keyset {
  /** occurred_at to the microsecond (RFC 3339, UTC): a JS Date would round it and skip or repeat rows. */
  at: string;
  /** bigint id as text. */
  id: string;
}

interface CursorPayload {
  v: 1;
  at: string;
  id: string;
  o: Order;
  f: string;
}

const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ID = /^\d{1,19}$/;
const MAX_BIGINT = 2n ** 63n - 1n;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Hash of the filters a cursor was issued for. Carried in the cursor so that a cursor replayed with
 * other filters is refused instead of silently paging through a different result set.
 */
export function filterHash(filter: EventFilter): string {
  const canonical = JSON.stringify(FILTER_KEYS.map((k) => filter[k] ?? null));
  return createHash('sha256').update(canonical).digest('base64url').slice(0, 22);
}

/** Opaque to clients; base64url JSON so it survives a query string unescaped. */
export function encodeCursor(position: Keyset, order: Order, filter: EventFilter): string {
  const payload: CursorPayload = { v: 1, at: position.at, id: position.id, o: order, f: filterHash(filter) };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

const invalid = (message: string) =>
  new AppError('validation_failed', `querystring.cursor ${message}`, { errors: [{ field: 'querystring.cursor', message }] });

/** The position a cursor names, after checking it belongs to this exact query (filters and order). */
export function decodeCursor(cursor: string, order: Order, filter: EventFilter): Keyset {
  let payload: Partial<CursorPayload>;
  try {
    if (!BASE64URL.test(cursor)) throw new Error('not base64url');
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<CursorPayload>;
  } catch {
    throw invalid('is not a cursor issued by dab: pass nextCursor unchanged');
  }
  if (payload?.v !== 1 || typeof payload.at !== 'string' || !AT.test(payload.at) || Number.isNaN(Date.parse(payload.at))
    || typeof payload.id !== 'string' || !ID.test(payload.id) || BigInt(payload.id) > MAX_BIGINT || (payload.o !== 'asc' && payload.o !== 'desc') || typeof payload.f !== 'string') {
    throw invalid('is not a cursor issued by dab: pass nextCursor unchanged');
  }
  if (payload.o !== order || payload.f !== filterHash(filter)) {
    throw invalid('was issued for different filters or order: repeat the same query with it, or start again without a cursor');
  }
  return { at: payload.at, id: payload.id };
}
