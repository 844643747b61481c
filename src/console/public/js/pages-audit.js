// Auditor pages: who held a DB user at an instant, token / access-key lookup, log integrity.
import { html, useEffect, useState } from '../vendor/htm-preact.js';
import { ApiError, getJson, postJson } from './api.js';
import { Badge, Field, Problem, Table, When, fmt, toInstant, useAction } from './ui.js';

const localNow = () => {
  const d = new Date();
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 19);
};

const grantColumns = [
  { label: 'Granted', render: (e) => html`<${When} at=${e.occurredAt} />` },
  { label: 'Who', render: (e) => e.actor?.subject ?? e.awsCaller?.arn ?? '—' },
  { label: 'Database / level', render: (e) => `${fmt(e.database)} / ${fmt(e.level)}` },
  { label: 'DB user', key: 'dbUser' },
  { label: 'Until', render: (e) => html`<${When} at=${e.expiresAt} />` },
  { label: 'Session name', key: 'sessionName' },
  { label: 'Access key', key: 'accessKeyId' },
  { label: 'Reason given', key: 'callerReason' },
];

export function HoldersPage() {
  const [form, setForm] = useState({ database: '', dbUser: '', at: localNow() });
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  const [state, run] = useAction(() => getJson('/v1/audit/holders', { database: form.database, dbUser: form.dbUser, at: toInstant(form.at) }));
  const r = state.result;
  return html`<section>
    <h1 tabindex="-1">Who held it?</h1>
    <p>Every grant whose token was valid for this DB user at this instant, and the mapping that allowed it (as recorded then, and as it is now).</p>
    <form class="filters" onSubmit=${(e) => (e.preventDefault(), run())} aria-label="Who held it">
      <${Field} label="Database" name="database" value=${form.database} onInput=${set('database')} required />
      <${Field} label="DB user" name="dbUser" value=${form.dbUser} onInput=${set('dbUser')} required />
      <${Field} label="At (local time)" name="at" type="datetime-local" step="1" value=${form.at} onInput=${set('at')} required />
      <div class="actions"><button type="submit" class="primary" disabled=${state.busy}>Ask</button></div>
    </form>
    <${Problem} error=${state.error} />
    ${r &&
    html`<${Table}
      caption=${`Holders of ${r.dbUser} on ${r.database} at ${new Date(r.at).toLocaleString()}${r.truncated ? ' (more matched than shown)' : ''}`}
      rows=${r.items}
      rowKey=${(h) => h.grant.eventId}
      empty="Nobody held a token for this DB user at that instant."
      columns=${[
        ...grantColumns.map((c) => ({ ...c, render: (h) => (c.render ? c.render(h.grant) : fmt(h.grant[c.key])) })),
        { label: 'Mapping', render: (h) => (h.mapping ? html`<code>${h.mapping.id}</code>${h.mapping.current === null ? html` <${Badge} kind="warn">deleted since<//>` : ''}` : '—') },
      ]}
    />`}
  </section>`;
}

export function LookupPage() {
  const [kind, setKind] = useState('token');
  const [value, setValue] = useState('');
  // In the body, never in the URL: a token in a URL would land in access logs.
  const [state, run] = useAction(() => postJson('/v1/audit/lookup', kind === 'token' ? { token: value.trim() } : { accessKeyId: value.trim() }));
  const r = state.result;
  return html`<section>
    <h1 tabindex="-1">Token / access-key lookup</h1>
    <p>Which grant produced an RDS auth token found somewhere, or every grant signed by an STS access key id (e.g. from CloudTrail).</p>
    <form onSubmit=${(e) => (e.preventDefault(), run())} aria-label="Lookup">
      <fieldset class="choice"><legend>Look up by</legend>
        <label><input type="radio" name="kind" value="token" checked=${kind === 'token'} onChange=${() => setKind('token')} /> Auth token</label>
        <label><input type="radio" name="kind" value="accessKeyId" checked=${kind === 'accessKeyId'} onChange=${() => setKind('accessKeyId')} /> Access key id</label>
      </fieldset>
      ${kind === 'token'
        ? html`<${Field} key="token" label="Auth token (raw or URL-encoded)" name="token" rows="4" value=${value} onInput=${setValue} required />`
        : html`<${Field} key="accessKeyId" label="STS access key id" name="accessKeyId" value=${value} onInput=${setValue} required />`}
      <div class="actions"><button type="submit" class="primary" disabled=${state.busy}>Look up</button></div>
    </form>
    <${Problem} error=${state.error} />
    ${r && html`<${Table} caption=${`${r.items.length} grant(s)${r.truncated ? ' (more matched than shown)' : ''}`} rows=${r.items} rowKey=${(e) => e.eventId} empty="No grant matches." columns=${grantColumns} />`}
  </section>`;
}

export function IntegrityPage() {
  const [verify, runVerify] = useAction(() => getJson('/v1/audit/verify'));
  const [checkpoint, loadCheckpoint] = useAction(async () => {
    try {
      return await getJson('/v1/audit/checkpoints/latest');
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  });
  useEffect(() => {
    runVerify();
    loadCheckpoint();
  }, []);
  const v = verify.result;
  const c = checkpoint.result;
  return html`<section>
    <h1 tabindex="-1">Integrity</h1>
    <p><button type="button" onClick=${() => (runVerify(), loadCheckpoint())} disabled=${verify.busy}>${verify.busy ? 'Verifying…' : 'Verify again'}</button></p>
    <${Problem} error=${verify.error} />
    ${v &&
    html`<div class="integrity">
      <p class=${v.result === 'intact' ? 'verdict ok' : 'verdict bad'} role="status" data-result=${v.result}>
        ${v.result === 'intact' ? 'Intact: every sealed event matches its seal.' : v.result === 'tampered' ? 'Tampered: the log does not match its seals.' : 'Unanchored: part of the log cannot be tied to its seals.'}
      </p>
      ${v.firstBroken &&
      html`<dl class="facts broken"><dt>First broken event</dt><dd>${v.firstBroken.id ?? '—'}</dd><dt>Kind</dt><dd><${Badge} kind="bad">${v.firstBroken.kind}<//></dd><dt>Seal</dt><dd>${v.firstBroken.sealSeq}</dd><dt>Detail</dt><dd>${v.firstBroken.detail}</dd></dl>`}
      <dl class="facts">
        <dt>Events checked</dt><dd>${v.checkedEvents}</dd>
        <dt>Seals checked</dt><dd>${v.checkedSeals}</dd>
        <dt>Not sealed yet</dt><dd>${v.unsealedEvents}</dd>
        <dt>Head seal</dt><dd>${v.head ? html`#${v.head.seq} through event ${v.head.lastId} <code class="hash">${v.head.sealHash}</code>` : 'nothing sealed yet'}</dd>
        <dt>Event MACs</dt><dd>${v.eventMacs ? `${v.eventMacs.checked} checked` : '—'}</dd>
      </dl>
    </div>`}
    <h2>Latest signed checkpoint</h2>
    <${Problem} error=${checkpoint.error} />
    ${c === null && html`<p class="empty">No checkpoint has been signed (dab signs them when audit.checkpointKeyFile is set).</p>`}
    ${c &&
    html`<dl class="facts">
      <dt>Seal</dt><dd>#${c.seq} through event ${c.lastId}</dd>
      <dt>Signed</dt><dd><${When} at=${c.at} /></dd>
      <dt>Key id</dt><dd><code>${c.keyId}</code></dd>
      <dt>Seal hash</dt><dd><code class="hash">${c.sealHash}</code></dd>
      <dt>Signature</dt><dd><code class="hash">${c.signature}</code></dd>
    </dl>`}
  </section>`;
}
