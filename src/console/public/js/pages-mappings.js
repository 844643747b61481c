// Mappings for DBAs: the API's filters, time windows and requireReason shown, out-of-window marked.
import { html, useEffect, useState } from '../vendor/htm-preact.js';
import { getJson } from './api.js';
import { Badge, Field, Problem, Table, When, describePrincipal, useAction } from './ui.js';

/** Where a mapping stands now: expired and not-yet-valid ones grant nothing. */
export function windowState(m, now = Date.now()) {
  if (m.expiresAt && Date.parse(m.expiresAt) <= now) return 'expired';
  if (m.notBefore && Date.parse(m.notBefore) > now) return 'not-yet-valid';
  return 'active';
}

const STATE_BADGE = { expired: ['bad', 'expired'], 'not-yet-valid': ['warn', 'not yet valid'], active: ['ok', 'active'] };

export function MappingsPage() {
  const [filter, setFilter] = useState({ database: '', issuer: '', subject: '', group: '', owner: '' });
  const set = (k) => (v) => setFilter((f) => ({ ...f, [k]: v }));
  const [state, load] = useAction((f) => getJson('/v1/mappings', f));
  useEffect(() => {
    load(filter);
  }, []);
  const items = state.result?.items ?? [];
  return html`<section>
    <h1 tabindex="-1">Mappings</h1>
    <form class="filters" onSubmit=${(e) => (e.preventDefault(), load(filter))} aria-label="Filter mappings">
      <${Field} label="Database" name="database" value=${filter.database} onInput=${set('database')} />
      <${Field} label="Issuer" name="issuer" value=${filter.issuer} onInput=${set('issuer')} />
      <${Field} label="Subject" name="subject" value=${filter.subject} onInput=${set('subject')} />
      <${Field} label="Group" name="group" value=${filter.group} onInput=${set('group')} />
      <${Field} label="Owner" name="owner" value=${filter.owner} onInput=${set('owner')} />
      <div class="actions"><button type="submit" class="primary" disabled=${state.busy}>Filter</button></div>
    </form>
    <${Problem} error=${state.error} />
    ${state.result &&
    html`<${Table}
      caption=${`${items.length} mapping${items.length === 1 ? '' : 's'}`}
      rows=${items}
      rowKey=${(m) => m.id}
      rowClass=${(m) => `mapping-${windowState(m)}`}
      empty="No mapping matches."
      columns=${[
        { label: 'Name', key: 'name' },
        { label: 'Principal', render: (m) => describePrincipal(m.principal) },
        { label: 'Database', render: (m) => m.database ?? (m.selector ? Object.entries(m.selector).map(([k, v]) => `${k}=${v}`).join(', ') : '—') },
        { label: 'Levels', render: (m) => m.levels.join(', ') },
        { label: 'Window', render: (m) => html`<${When} at=${m.notBefore} /> → <${When} at=${m.expiresAt} />` },
        { label: 'State', render: (m) => { const [k, t] = STATE_BADGE[windowState(m)]; return html`<${Badge} kind=${k}>${t}<//>`; } },
        { label: 'Reason', render: (m) => (m.requireReason ? html`<${Badge} kind="warn">required<//>` : 'no') },
        { label: 'Owner', key: 'owner' },
      ]}
    />`}
  </section>`;
}
