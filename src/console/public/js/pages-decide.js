// "Why was this denied?" (explain) and "What happens if I apply this?" (dry-run, then apply).
import { html, useState } from '../vendor/htm-preact.js';
import { parse as parseYaml } from '../vendor/yaml/index.js';
import { postJson } from './api.js';
import { Badge, Field, Problem, Table, describePrincipal, toInstant, useAction } from './ui.js';

export function ExplainPage({ settings }) {
  const [form, setForm] = useState({ issuer: settings.issuer, subject: '', groups: '', database: '', access: 'ro', reason: '', at: '' });
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  const [state, explain] = useAction(() => {
    const groups = form.groups.split(',').map((g) => g.trim()).filter(Boolean);
    const body = { principal: { issuer: form.issuer, subject: form.subject, ...(groups.length ? { groups } : {}) }, database: form.database, access: form.access };
    if (form.reason) body.reason = form.reason;
    const at = toInstant(form.at);
    if (at) body.at = at;
    return postJson('/v1/access/explain', body);
  });
  const r = state.result;
  return html`<section>
    <h1 tabindex="-1">Explain a decision</h1>
    <p>Why would dab grant or deny this principal this level? The answer names the deciding mapping.</p>
    <form class="filters" onSubmit=${(e) => (e.preventDefault(), explain())} aria-label="Explain">
      <${Field} label="Issuer" name="issuer" value=${form.issuer} onInput=${set('issuer')} required />
      <${Field} label="Subject" name="subject" value=${form.subject} onInput=${set('subject')} required />
      <${Field} label="Groups (comma-separated)" name="groups" value=${form.groups} onInput=${set('groups')} />
      <${Field} label="Database" name="database" value=${form.database} onInput=${set('database')} required />
      <${Field} label="Level" name="access" value=${form.access} onInput=${set('access')} options=${['ro', 'rw', 'monitor']} />
      <${Field} label="Reason" name="reason" value=${form.reason} onInput=${set('reason')} />
      <${Field} label="As of (local time; empty: now)" name="at" type="datetime-local" step="1" value=${form.at} onInput=${set('at')} />
      <div class="actions"><button type="submit" class="primary" disabled=${state.busy}>Explain</button></div>
    </form>
    <${Problem} error=${state.error} />
    ${r &&
    html`<div class="explanation" aria-live="polite">
      <p class=${r.allowed ? 'verdict ok' : 'verdict bad'} role="status">
        ${r.allowed ? 'Allowed' : 'Denied'}: <code>${r.reason}</code>
        ${r.rule ? html` by mapping <b>${r.rule.name}</b> <small>(${r.rule.id})</small>` : ' (no mapping decided)'}
      </p>
      ${r.dbUser && html`<p>DB user <code>${r.dbUser}</code>${r.roleArn && html`, role <code>${r.roleArn}</code>`}</p>`}
      <${Table}
        caption="Mappings considered, most specific first"
        rows=${r.considered}
        rowKey=${(m) => m.id}
        empty="No mapping names this principal for this database."
        columns=${[
          { label: 'Mapping', key: 'name' },
          { label: 'Principal', render: (m) => describePrincipal(m.principal) },
          { label: 'Levels', render: (m) => m.levels.join(', ') },
          { label: 'Verdict', render: (m) => html`<${Badge} kind=${m.verdict === 'grants' ? 'ok' : 'warn'}>${m.verdict}<//>` },
        ]}
      />
    </div>`}
  </section>`;
}

/** An access document from JSON or YAML text (as `dab admin apply -f` reads it). */
export function parseDocument(text) {
  const doc = parseYaml(text);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('the document must be a mapping with databases and/or mappings');
  return doc;
}

export function DryRunPage() {
  const [text, setText] = useState('');
  const [prune, setPrune] = useState(false);
  const [parseError, setParseError] = useState(null);
  const [planned, setPlanned] = useState(null);
  const send = (dryRun) => {
    setParseError(null);
    let document;
    try {
      document = parseDocument(text);
    } catch (err) {
      setParseError(err);
      throw err;
    }
    return postJson('/v1/admin/apply', { document, prune, dryRun });
  };
  const [plan, runPlan, setPlan] = useAction(async () => {
    const result = await send(true);
    setPlanned(text + String(prune));
    return result;
  });
  const [applied, runApply] = useAction(() => send(false));
  const stale = planned !== text + String(prune);
  const upload = async (e) => {
    const file = e.currentTarget.files?.[0];
    if (file) setText(await file.text());
    setPlan({ busy: false, error: null, result: undefined });
  };
  return html`<section>
    <h1 tabindex="-1">Dry-run an access document</h1>
    <p>Paste or upload an access document (YAML or JSON, as <code>dab admin apply -f</code> takes) to see what would change and who would gain or lose access. Nothing changes until you apply.</p>
    <form onSubmit=${(e) => (e.preventDefault(), runPlan())} aria-label="Dry-run">
      <div class="field"><label for="doc-file">Upload a file</label><input id="doc-file" type="file" accept=".yaml,.yml,.json,application/json,text/yaml" onChange=${upload} /></div>
      <${Field} label="Access document" name="document" rows="14" value=${text} onInput=${setText} required />
      <${Field} type="checkbox" label="Prune: delete what the document does not declare" name="prune" value=${prune} onInput=${setPrune} />
      <div class="actions"><button type="submit" class="primary" disabled=${plan.busy}>Dry-run</button></div>
    </form>
    ${parseError && html`<div class="problem" role="alert"><strong>Not a valid document</strong><p>${parseError.message}</p></div>`}
    <${Problem} error=${plan.error && !parseError ? plan.error : null} />
    ${plan.result && html`<${Plan} p=${plan.result} />`}
    ${plan.result &&
    html`<div class="apply">
      ${stale ? html`<p>The document changed since this dry-run: run it again before applying.</p>` : html`<button type="button" class="danger" disabled=${applied.busy} onClick=${() => confirm('Apply this document to dab now?') && runApply()}>Apply these changes</button>`}
    </div>`}
    <${Problem} error=${applied.error} />
    ${applied.result && html`<p class="verdict ok" role="status">Applied: ${applied.result.changes.length} change(s).</p>`}
  </section>`;
}

function Plan({ p }) {
  const delta = (caption, rows) => html`<${Table}
    caption=${caption}
    rows=${rows}
    empty=${`Nobody ${caption.startsWith('Gains') ? 'gains' : 'loses'} access.`}
    columns=${[
      { label: 'Principal', render: (d) => describePrincipal(d.principal) },
      { label: 'Database', key: 'database' },
      { label: 'Level', key: 'level' },
      { label: 'Seen in audit log', render: (d) => (d.seenInAuditLog ? 'yes' : 'no') },
    ]}
  />`;
  return html`<div class="plan" aria-live="polite">
    <h2>What would change</h2>
    <p>${p.changes.length} change(s), ${p.unchanged} declaration(s) already as declared. Compared ${p.impact.principalsCompared} principal(s), with callers seen in the last ${p.impact.auditWindowDays} day(s).</p>
    <${Table}
      caption="Changes"
      rows=${p.changes}
      empty="Nothing would change."
      columns=${[
        { label: 'Kind', key: 'kind' },
        { label: 'Name', key: 'name' },
        { label: 'Action', render: (c) => html`<${Badge} kind=${c.action === 'delete' ? 'bad' : c.action === 'create' ? 'ok' : 'warn'}>${c.action}<//>` },
      ]}
    />
    ${delta('Gains', p.impact.gains)}
    ${delta('Losses', p.impact.losses)}
  </div>`;
}
