import { randomUUID } from 'node:crypto';
import { insertAuditEvent, type AuditEvent } from '../../src/audit/audit-repo.js';
import type { Store } from '../../src/store/store.js';
import { AUDITOR_SUBJECT, type Harness } from './harness.js';

/** GET as the harness's auditor. */
export async function auditorGet(h: Harness, url: string) {
  return h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` } });
}

export async function auditorPost(h: Harness, url: string, payload: unknown) {
  return h.app.inject({ method: 'POST', url, payload: payload as object, headers: { authorization: `Bearer ${await h.token(AUDITOR_SUBJECT)}` } });
}

export const query = (params: Record<string, string | number | undefined>): string =>
  new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)] as [string, string])).toString();

/** Every page of GET /v1/audit/events for these params, following nextCursor; returns the event ids in order. */
export async function pageAll(h: Harness, params: Record<string, string | number | undefined>, between?: (page: number) => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    const res = await auditorGet(h, `/v1/audit/events?${query({ ...params, cursor })}`);
    if (res.statusCode !== 200) throw new Error(`page ${page} answered ${res.statusCode}: ${res.body}`);
    const body = res.json() as { items: { id: string }[]; nextCursor?: string };
    if (params.limit !== undefined && body.items.length > Number(params.limit)) throw new Error('page larger than limit');
    ids.push(...body.items.map((e) => e.id));
    if (!body.nextCursor) return ids;
    cursor = body.nextCursor;
    await between?.(page);
  }
}

const SUBJECTS = ['dave', 'erin', 'frank'];
const DATABASES = ['orders', 'billing', null];

/**
 * Time-spread events written straight to the store (as the grant path would), one a minute from
 * `start`, with every tenth sharing its predecessor's instant to exercise the id tie-break.
 */
export async function seedSpread(store: Store, count: number, start: Date, macKey: Buffer): Promise<void> {
  let at = start.getTime();
  for (let i = 0; i < count; i++) {
    if (i % 10 !== 0) at += 60_000;
    const database = DATABASES[i % 3] ?? null;
    const issued = i % 4 === 0;
    const event: AuditEvent = {
      eventId: randomUUID(),
      occurredAt: new Date(at),
      eventType: issued ? 'credential.issued' : i % 4 === 1 ? 'credential.denied' : 'mapping.updated',
      outcome: issued ? 'issued' : i % 4 === 1 ? 'denied' : 'succeeded',
      reason: issued ? 'mapping_allows' : 'no_mapping',
      requestId: `req-${i}`,
      actor: { issuer: i % 5 === 0 ? 'https://other-idp.example' : 'https://idp.example', subject: SUBJECTS[i % 3] as string, groups: i % 2 ? ['payments'] : ['ops', 'payments-admins'] },
      databaseName: database,
      accessLevel: database ? (i % 2 ? 'ro' : 'rw') : null,
      dbUser: issued && database ? `${database}_${i % 2 ? 'ro' : 'rw'}` : null,
      expiresAt: issued ? new Date(at + 900_000) : null,
    };
    await insertAuditEvent(store, event, macKey);
  }
}

/** A small RFC 4180 parser (quoted fields, doubled quotes, CRLF or LF, line breaks inside quotes). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') continue;
    else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) rows.push([...row, field]);
  return rows;
}
