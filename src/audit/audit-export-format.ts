import type { AuditEventJson } from './audit-query-schema.js';

export type ExportFormat = 'ndjson' | 'csv';

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8; header=present',
};

/** CSV columns: the event JSON flattened; actor groups and details stay JSON so nothing is lost. */
export const CSV_COLUMNS: readonly [string, (e: AuditEventJson) => unknown][] = [
  ['id', (e) => e.id],
  ['eventId', (e) => e.eventId],
  ['occurredAt', (e) => e.occurredAt],
  ['eventType', (e) => e.eventType],
  ['outcome', (e) => e.outcome],
  ['reason', (e) => e.reason],
  ['rule', (e) => e.rule],
  ['requestId', (e) => e.requestId],
  ['traceId', (e) => e.traceId],
  ['parentSpanId', (e) => e.parentSpanId],
  ['clientRequestId', (e) => e.clientRequestId],
  ['actorIssuer', (e) => e.actor?.issuer],
  ['actorSubject', (e) => e.actor?.subject],
  ['actorGroups', (e) => (e.actor ? JSON.stringify(e.actor.groups) : null)],
  ['awsCallerArn', (e) => e.awsCaller?.arn],
  ['awsCallerAccount', (e) => e.awsCaller?.account],
  ['awsCallerSessionName', (e) => e.awsCaller?.sessionName],
  ['sourceIp', (e) => e.sourceIp],
  ['userAgent', (e) => e.userAgent],
  ['database', (e) => e.database],
  ['level', (e) => e.level],
  ['dbUser', (e) => e.dbUser],
  ['roleArn', (e) => e.roleArn],
  ['sessionName', (e) => e.sessionName],
  ['sourceIdentity', (e) => e.sourceIdentity],
  ['accessKeyId', (e) => e.accessKeyId],
  ['tokenFingerprint', (e) => e.tokenFingerprint],
  ['expiresAt', (e) => e.expiresAt],
  ['callerReason', (e) => e.callerReason],
  ['details', (e) => (e.details === null || e.details === undefined ? null : JSON.stringify(e.details))],
];

// OWASP CSV injection: a spreadsheet treats a cell starting with one of these as a formula
// (or, for tab and CR, may strip them and then see one). A leading ' makes it plain text.
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One RFC 4180 field: quoted when it holds a quote, comma or line break; quotes doubled. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const CRLF = '\r\n';

export function csvHeader(): string {
  return CSV_COLUMNS.map(([name]) => name).join(',') + CRLF;
}

export function csvRow(e: AuditEventJson): string {
  return CSV_COLUMNS.map(([, get]) => csvCell(get(e))).join(',') + CRLF;
}
