// "Request access": ask for a level for a while (or break-glass, where policy allows it) and follow
// your own requests. The choices come from GET /v1/access-requests/requestable; the limits shown
// are hints only: the API decides, and its refusal is shown as it gave it.
import { html, useEffect, useState } from '../vendor/htm-preact.js';
import { getJson, postJson } from './api.js';
import { Field, Problem, Table, useAction } from './ui.js';
import { StateBadge, Window, approvals, duration, listRequests, step } from './requests-shared.js';

// The API's cancel withdraws a pending request or hands an active window back early.
const CANCEL = { pending: 'Cancel request', active: 'Give back now' };

export function RequestsPage() {
  const [choices, loadChoices] = useAction(async () => (await getJson('/v1/access-requests/requestable')).items);
  const [mine, loadMine] = useAction(() => listRequests({ mine: 'true' }));
  const [acted, act] = useAction(async (r, name) => {
    try {
      return await step(r, name, { version: r.version });
    } finally {
      loadMine();
    }
  });
  useEffect(() => {
    loadChoices();
    loadMine();
  }, []);
  return html`<section>
    <h1 tabindex="-1">Request access</h1>
    <p>Ask for a level on a database for a while; an approver of its request policy decides. Once approved, <code>dab creds</code> gets you credentials until the window ends. The CLI does the same with <code>dab request</code>.</p>
    <${Problem} error=${choices.error} />
    ${choices.result && (choices.result.length ? html`<${RequestForm} choices=${choices.result} onFiled=${loadMine} />` : html`<p class="empty">No request policy lets you request access. A DBA can add one.</p>`)}
    <h2>My requests</h2>
    <${Problem} error=${mine.error ?? acted.error} />
    ${mine.result &&
    html`<${Table}
      caption="Your requests, newest first"
      rows=${mine.result}
      rowKey=${(r) => r.id}
      empty="You have made no requests."
      columns=${[
        { label: 'Database', key: 'database' },
        { label: 'Level', key: 'access' },
        { label: 'State', render: (r) => html`<${StateBadge} r=${r} />` },
        { label: 'Reason', key: 'reason' },
        { label: 'Window', render: (r) => html`<${Window} r=${r} />` },
        { label: 'Approvals', render: approvals },
        { label: 'Closed', render: (r) => (r.closedBy ? `by ${r.closedBy.subject}${r.closeReason ? `: ${r.closeReason}` : ''}` : '—') },
        { label: 'Actions', render: (r) => (CANCEL[r.state] ? html`<button type="button" class="small" disabled=${acted.busy} onClick=${() => act(r, 'cancel')}>${CANCEL[r.state]}</button>` : '—') },
      ]}
    />`}
  </section>`;
}

function RequestForm({ choices, onFiled }) {
  const databases = [...new Set(choices.map((c) => c.database))];
  const [form, setForm] = useState({ database: databases[0], access: '', reason: '', minutes: '60', breakGlass: false });
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  const levels = choices.filter((c) => c.database === form.database);
  const choice = levels.find((c) => c.access === form.access) ?? levels[0];
  const breakGlass = form.breakGlass && choice.breakGlassMaxDurationSeconds !== undefined;
  const [filed, file] = useAction(async () => {
    const body = { database: choice.database, access: choice.access, reason: form.reason.trim(), durationSeconds: Math.round(Number(form.minutes) * 60) };
    if (breakGlass) body.breakGlass = true;
    const created = await postJson('/v1/access-requests', body);
    onFiled();
    return created;
  });
  const max = breakGlass ? choice.breakGlassMaxDurationSeconds : choice.maxDurationSeconds;
  return html`<form class="filters" onSubmit=${(e) => (e.preventDefault(), file())} aria-label="Request access">
      <${Field} label="Database" name="database" value=${form.database} onInput=${(v) => setForm((f) => ({ ...f, database: v, access: '', breakGlass: false }))} options=${databases} />
      <${Field} label="Level" name="access" value=${choice.access} onInput=${set('access')} options=${levels.map((c) => c.access)} />
      <${Field} label="Duration (minutes)" name="minutes" type="number" min="1" step="1" value=${form.minutes} onInput=${set('minutes')} required hint=${`At most ${duration(max)} (policy ${choice.policy})`} />
      <${Field} label="Reason" name="reason" value=${form.reason} onInput=${set('reason')} required maxlength="500" hint=${breakGlass ? 'Mandatory: every approver is told at once, and the use is reviewed afterwards.' : 'Approvers read it; it is audited.'} />
      ${choice.breakGlassMaxDurationSeconds !== undefined && html`<${Field} type="checkbox" label="Break-glass: take it now, without approval" name="breakGlass" value=${form.breakGlass} onInput=${set('breakGlass')} hint="For emergencies only." />`}
      <div class="actions"><button type="submit" class=${breakGlass ? 'danger' : 'primary'} disabled=${filed.busy}>${breakGlass ? 'Take it now' : `Request (${choice.approvalsRequired} approval${choice.approvalsRequired > 1 ? 's' : ''} needed)`}</button></div>
    </form>
    <${Problem} error=${filed.error} />
    ${filed.result && html`<p class="verdict ok" role="status">${filed.result.state === 'active' ? `Active now: ${filed.result.access} on ${filed.result.database} until ${new Date(filed.result.windowEndsAt).toLocaleString()}.` : `Requested ${filed.result.access} on ${filed.result.database}: pending approval.`}</p>`}`;
}
