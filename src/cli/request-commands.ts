import { ADMIN_OPTIONS, adminCall, connectionFrom, connectionHelp, explainFailure, parseOrUsage, type AdminConnection } from './admin-client.js';
import { usage, type CliIo } from './cli-errors.js';

// Just-in-time access from the command line: dab request, dab approve, dab deny, and dab requests
// (list, show, cancel, revoke, review). Each is one or two HTTP calls; nothing of the server loads.

interface AccessRequest {
  id: string;
  requester: { issuer: string; subject: string };
  database: string;
  access: string;
  reason: string;
  durationSeconds: number;
  breakGlass: boolean;
  policy: string;
  approvalsRequired: number;
  state: string;
  version: number;
  pendingUntil: string;
  approvals: Array<{ subject: string; at: string }>;
  windowEndsAt?: string;
  review?: string;
  closeReason?: string;
}

const CONNECTION = connectionHelp('your');
const FORMAT_HELP = '      --format FORMAT      text (default) or json';

export const REQUEST_HELP = `Usage: dab request <database> --access LEVEL --reason TEXT --duration DURATION [--break-glass]

Asks for a level you do not hold standing (e.g. rw) for a while. An approver of the request
policy approves it (dab approve); then dab creds gives you that level until the window ends.
--break-glass takes it at once, where policy allows it: loud, audited, reviewed afterwards.

Options:
  -a, --access LEVEL       ro, rw or monitor (required)
  -r, --reason TEXT        why (required; audited, shown to approvers)
  -d, --duration DURATION  how long once approved: 90m, 2h, 1h30m, 3600 (seconds) (required)
      --break-glass        take it now without approval (emergencies; policy must allow it)
      --format FORMAT      text (default), json, or id (the request id alone, for scripts)
${CONNECTION}

Example:
  dab request orders --access rw --reason "fix OPS-123" --duration 1h
  dab approve <id> --version 1          # as an approver
  dab creds orders --access rw`;

export const APPROVE_HELP = `Usage: dab approve <request-id> --version N [--note TEXT]

Approves a pending request. --version is the version you read (dab requests show <id>): if the
request changed since, dab refuses (409 request_changed). Nobody approves their own request.

Options:
      --version N          the request version you read (required)
      --note TEXT          why (audited)
${FORMAT_HELP}
${CONNECTION}`;

export const DENY_HELP = `Usage: dab deny <request-id> --version N --reason TEXT

Denies a pending request (naming the version you read); the reason is audited and sent to the requester.

Options:
      --version N          the request version you read (required)
  -r, --reason TEXT        why (required)
${FORMAT_HELP}
${CONNECTION}`;

export const REQUESTS_HELP = `Usage: dab requests <list|show|cancel|revoke|review> [options]

  list [--state STATE] [--mine] [--break-glass] [--unreviewed]
                          requests you made or may approve (DBAs, auditors: all); auditors:
                          dab requests list --break-glass --unreviewed
  show <id>               one request, with its version
  cancel <id> [--reason TEXT]
                          withdraw your pending request, or give an active window back
  revoke <id> --reason TEXT
                          end an active window now (approvers, DBAs)
  review <id> --version N --note TEXT
                          review a break-glass use after the fact (approvers)

States: pending, active, ended, denied, cancelled, expired, revoked.

Options:
${FORMAT_HELP}
${CONNECTION}`;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** "90m", "2h", "1h30m", "45s" or plain seconds, as seconds. */
export function parseDuration(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+)([smhd])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw usage(`--duration "${text}" is not a duration: use e.g. 90m, 2h, 1h30m or seconds`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] as string] as number), 0);
}

function version(text: string | undefined): number {
  if (text === undefined) throw usage('--version is required: the request version you read (dab requests show <id>)');
  if (!/^[1-9]\d{0,8}$/.test(text)) throw usage('--version must be a positive integer');
  return Number(text);
}

function oneId(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw usage(`name exactly one request id, e.g. dab ${what} 0190…`);
  return positionals[0] as string;
}

function format(r: AccessRequest): string {
  const lines = [
    `request ${r.id}  ${r.state}${r.breakGlass ? `  break-glass (${r.review})` : ''}  version ${r.version}`,
    `  ${r.requester.subject} wants ${r.access} on ${r.database} for ${r.durationSeconds} s: ${r.reason}`,
    `  policy ${r.policy}; approvals ${r.approvals.length}/${r.approvalsRequired}${r.approvals.length ? ` (${r.approvals.map((a) => a.subject).join(', ')})` : ''}`,
  ];
  if (r.state === 'pending') lines.push(`  expires unanswered at ${r.pendingUntil}`);
  if (r.windowEndsAt && r.state === 'active') lines.push(`  window open until ${r.windowEndsAt}`);
  if (r.closeReason) lines.push(`  closed: ${r.closeReason}`);
  return lines.join('\n');
}

const print = (io: CliIo, fmt: string, value: AccessRequest) => io.out(fmt === 'json' ? JSON.stringify(value, null, 2) : format(value));

function checkFormat(fmt: string): string {
  if (fmt !== 'text' && fmt !== 'json') throw usage('--format must be text or json');
  return fmt;
}

async function call(conn: AdminConnection, what: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<AccessRequest> {
  try {
    return await adminCall<AccessRequest>(conn, method, path, body);
  } catch (err) {
    throw explainFailure(err, conn, { what, needs: 'an identity the request policy names', notFound: `no access request at ${path}` });
  }
}

export async function requestCommand(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseOrUsage({
    args, allowPositionals: true,
    options: { access: { type: 'string', short: 'a' }, reason: { type: 'string', short: 'r' }, duration: { type: 'string', short: 'd' }, 'break-glass': { type: 'boolean', default: false }, format: { type: 'string', default: 'text' }, ...ADMIN_OPTIONS },
  });
  if (positionals.length !== 1) throw usage('name exactly one database, e.g. dab request orders --access rw …');
  if (!values.access || !['ro', 'rw', 'monitor'].includes(values.access)) throw usage('--access must be ro, rw or monitor');
  if (!values.reason) throw usage('--reason is required (it is audited and shown to approvers)');
  if (!values.duration) throw usage('--duration is required, e.g. --duration 1h');
  const fmt = values.format === 'id' ? 'id' : checkFormat(values.format);
  const body = { database: positionals[0], access: values.access, reason: values.reason, durationSeconds: parseDuration(values.duration), ...(values['break-glass'] ? { breakGlass: true } : {}) };
  const conn = connectionFrom(values, io);
  const created = await call(conn, `request ${values.access} on ${positionals[0]}`, 'POST', '/v1/access-requests', body);
  if (fmt === 'id') return io.out(created.id);
  print(io, fmt, created);
  if (fmt === 'text') io.out(created.state === 'pending' ? `next: an approver runs  dab approve ${created.id} --version ${created.version}` : `next: dab creds ${created.database} --access ${created.access}`);
}

export async function approveCommand(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseOrUsage({ args, allowPositionals: true, options: { version: { type: 'string' }, note: { type: 'string' }, format: { type: 'string', default: 'text' }, ...ADMIN_OPTIONS } });
  const id = oneId(positionals, 'approve');
  const body = { version: version(values.version), ...(values.note ? { note: values.note } : {}) };
  const fmt = checkFormat(values.format);
  print(io, fmt, await call(connectionFrom(values, io), `approve request ${id}`, 'POST', `/v1/access-requests/${encodeURIComponent(id)}/approve`, body));
}

export async function denyCommand(args: string[], io: CliIo): Promise<void> {
  const { values, positionals } = parseOrUsage({ args, allowPositionals: true, options: { version: { type: 'string' }, reason: { type: 'string', short: 'r' }, format: { type: 'string', default: 'text' }, ...ADMIN_OPTIONS } });
  const id = oneId(positionals, 'deny');
  if (!values.reason) throw usage('--reason is required (the requester sees it)');
  const fmt = checkFormat(values.format);
  print(io, fmt, await call(connectionFrom(values, io), `deny request ${id}`, 'POST', `/v1/access-requests/${encodeURIComponent(id)}/deny`, { version: version(values.version), reason: values.reason }));
}

export async function requestsCommand(args: string[], io: CliIo): Promise<void> {
  const [sub, ...rest] = args;
  if (!sub || sub === '--help' || sub === '-h') {
    io.out(REQUESTS_HELP);
    return;
  }
  const { values, positionals } = parseOrUsage({
    args: rest, allowPositionals: true,
    options: {
      state: { type: 'string' }, mine: { type: 'boolean', default: false }, 'break-glass': { type: 'boolean', default: false }, unreviewed: { type: 'boolean', default: false },
      reason: { type: 'string', short: 'r' }, note: { type: 'string' }, version: { type: 'string' }, format: { type: 'string', default: 'text' }, ...ADMIN_OPTIONS,
    },
  });
  const fmt = checkFormat(values.format);
  const conn = () => connectionFrom(values, io);
  const path = (id: string, step = '') => `/v1/access-requests/${encodeURIComponent(id)}${step}`;
  switch (sub) {
    case 'list': {
      const q = new URLSearchParams();
      if (values.state) q.set('state', values.state);
      if (values.mine) q.set('mine', 'true');
      if (values['break-glass']) q.set('breakGlass', 'true');
      if (values.unreviewed) q.set('review', 'unreviewed');
      const c = conn();
      let list: { items: AccessRequest[] };
      try {
        list = await adminCall<{ items: AccessRequest[] }>(c, 'GET', `/v1/access-requests${q.size ? `?${q}` : ''}`);
      } catch (err) {
        throw explainFailure(err, c, { what: 'list access requests' });
      }
      if (fmt === 'json') io.out(JSON.stringify(list.items, null, 2));
      else io.out(list.items.length ? list.items.map(format).join('\n') : 'no access requests match');
      return;
    }
    case 'show': {
      const id = oneId(positionals, 'requests show');
      return print(io, fmt, await call(conn(), `read request ${id}`, 'GET', path(id)));
    }
    case 'cancel': {
      const id = oneId(positionals, 'requests cancel');
      return print(io, fmt, await call(conn(), `cancel request ${id}`, 'POST', path(id, '/cancel'), { ...(values.reason ? { reason: values.reason } : {}), ...(values.version ? { version: version(values.version) } : {}) }));
    }
    case 'revoke': {
      const id = oneId(positionals, 'requests revoke');
      if (!values.reason) throw usage('--reason is required');
      return print(io, fmt, await call(conn(), `revoke request ${id}`, 'POST', path(id, '/revoke'), { reason: values.reason }));
    }
    case 'review': {
      const id = oneId(positionals, 'requests review');
      if (!values.note) throw usage('--note is required: what the review found');
      return print(io, fmt, await call(conn(), `review request ${id}`, 'POST', path(id, '/review'), { version: version(values.version), note: values.note }));
    }
    default:
      throw usage(`unknown subcommand "requests ${sub}": list, show, cancel, revoke or review`);
  }
}
