// Audit events: every filter of GET /v1/audit/events, cursor paging, export of the current filter,
// and the outcome chart. The cursor pins a page to the log position it started from, so events
// arriving meanwhile never shift the pages a person is reading.
import { html, useState } from '../vendor/htm-preact.js';
import { getJson, request } from './api.js';
import { OutcomeChart } from './chart.js';
import { Badge, Field, Problem, Table, When, download, toInstant, useAction } from './ui.js';

const EMPTY = { from: '', to: '', eventType: '', outcome: '', issuer: '', subject: '', group: '', database: '', level: '', dbUser: '', grantId: '', requestId: '', order: 'desc', limit: '50' };
const CHART_PAGES = 5;
const OUTCOME_KIND = { issued: 'ok', succeeded: 'ok', denied: 'bad', failed: 'warn' };

/** The API filter for the form: instants in RFC 3339, empty fields left out. */
export function filterOf(form) {
  const { limit: _limit, order: _order, ...rest } = form;
  const out = {};
  for (const [k, v] of Object.entries(rest)) if (v !== '') out[k] = k === 'from' || k === 'to' ? toInstant(v) : v.trim();
  return out;
}

export function EventsPage() {
  const [form, setForm] = useState(EMPTY);
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  // The filter of the pages shown (not of the form being edited): paging and export use it.
  const [shown, setShown] = useState(null);
  // The pages read so far, each as the API returned it: going back shows exactly what was seen.
  const [pages, setPages] = useState([]);
  const [open, setOpen] = useState(null);
  const [page, loadPage, setPage] = useAction(async (q, cursor, earlier) => {
    const result = await getJson('/v1/audit/events', { ...q, ...(cursor ? { cursor } : {}) });
    setPages([...earlier, result]);
    return result;
  });
  const [chart, loadChart] = useAction(async (filter) => {
    const events = [];
    let cursor;
    for (let i = 0; i < CHART_PAGES; i++) {
      const p = await getJson('/v1/audit/events', { ...filter, limit: 1000, ...(cursor ? { cursor } : {}) });
      events.push(...p.items);
      cursor = p.nextCursor;
      if (!cursor) break;
    }
    return { events, truncated: Boolean(cursor) };
  });
  const [exporting, runExport] = useAction(async (format) => {
    const res = await request('GET', '/v1/audit/export', { query: { ...shown.filter, format }, accept: format === 'csv' ? 'text/csv' : 'application/x-ndjson' });
    download(await res.blob(), `dab-audit-${new Date().toISOString().replace(/[:.]/g, '-')}.${format === 'csv' ? 'csv' : 'ndjson'}`);
    return format;
  });

  const search = (e) => {
    e.preventDefault();
    const filter = filterOf(form);
    const q = { ...filter, order: form.order, limit: Number(form.limit) || 50 };
    setShown({ filter, q });
    setOpen(null);
    loadPage(q, undefined, []);
    loadChart(filter);
  };
  // The cursor pins the next page to where this one ended, whatever was written since.
  const next = () => loadPage(shown.q, page.result?.nextCursor, pages);
  const previous = () => {
    const earlier = pages.slice(0, -1);
    setPages(earlier);
    setPage({ busy: false, error: null, result: earlier[earlier.length - 1] });
  };
  const pageNumber = Math.max(1, pages.length);
  const items = page.result?.items ?? [];

  return html`<section>
    <h1 tabindex="-1">Audit events</h1>
    <form class="filters" onSubmit=${search} aria-label="Filter events">
      <${Field} label="From (local time)" name="from" type="datetime-local" step="1" value=${form.from} onInput=${set('from')} />
      <${Field} label="To (exclusive)" name="to" type="datetime-local" step="1" value=${form.to} onInput=${set('to')} />
      <${Field} label="Event type" name="eventType" value=${form.eventType} onInput=${set('eventType')} hint="e.g. credential.issued" />
      <${Field} label="Outcome" name="outcome" value=${form.outcome} onInput=${set('outcome')} options=${['', 'issued', 'denied', 'failed', 'succeeded']} />
      <${Field} label="Issuer" name="issuer" value=${form.issuer} onInput=${set('issuer')} />
      <${Field} label="Subject" name="subject" value=${form.subject} onInput=${set('subject')} />
      <${Field} label="Group" name="group" value=${form.group} onInput=${set('group')} />
      <${Field} label="Database" name="database" value=${form.database} onInput=${set('database')} />
      <${Field} label="Level" name="level" value=${form.level} onInput=${set('level')} options=${['', 'ro', 'rw', 'monitor']} />
      <${Field} label="DB user" name="dbUser" value=${form.dbUser} onInput=${set('dbUser')} />
      <${Field} label="Grant / event id" name="grantId" value=${form.grantId} onInput=${set('grantId')} />
      <${Field} label="Request id" name="requestId" value=${form.requestId} onInput=${set('requestId')} />
      <${Field} label="Order" name="order" value=${form.order} onInput=${set('order')} options=${[{ value: 'desc', label: 'newest first' }, { value: 'asc', label: 'oldest first' }]} />
      <${Field} label="Page size" name="limit" type="number" min="1" max="1000" value=${form.limit} onInput=${set('limit')} />
      <div class="actions"><button type="submit" class="primary" disabled=${page.busy}>Search</button> <button type="button" onClick=${() => setForm(EMPTY)}>Clear</button></div>
    </form>
    <${Problem} error=${page.error} />
    ${shown &&
    html`<div class="toolbar">
      <span>Export this filter:</span>
      <button type="button" onClick=${() => runExport('csv')} disabled=${exporting.busy}>CSV</button>
      <button type="button" onClick=${() => runExport('ndjson')} disabled=${exporting.busy}>NDJSON</button>
      ${exporting.result && html`<span role="status">Exported ${exporting.result.toUpperCase()}.</span>`}
    </div>`}
    <${Problem} error=${exporting.error} />
    ${chart.result && html`<${OutcomeChart} events=${chart.result.events} truncated=${chart.result.truncated} />`}
    ${page.result &&
    html`<${Table}
        caption=${`Page ${pageNumber}: ${items.length} event${items.length === 1 ? '' : 's'}`}
        rows=${items}
        rowKey=${(e) => e.eventId}
        empty="No event matches this filter."
        columns=${[
          { label: 'When', render: (e) => html`<${When} at=${e.occurredAt} />` },
          { label: 'Type', render: (e) => html`<code>${e.eventType}</code>` },
          { label: 'Outcome', render: (e) => html`<${Badge} kind=${OUTCOME_KIND[e.outcome] ?? 'muted'}>${e.outcome}<//>` },
          { label: 'Reason', key: 'reason' },
          { label: 'Who', render: (e) => e.actor?.subject ?? '—' },
          { label: 'Database', render: (e) => (e.database ? `${e.database}${e.level ? ` / ${e.level}` : ''}` : '—') },
          { label: 'DB user', key: 'dbUser' },
          { label: 'Details', render: (e) => html`<button type="button" class="small" aria-expanded=${open === e.eventId} onClick=${() => setOpen(open === e.eventId ? null : e.eventId)}>${open === e.eventId ? 'Hide' : 'Show'}</button>` },
        ]}
      />
      ${open && items.find((e) => e.eventId === open) && html`<figure class="copy"><figcaption>Event ${open}</figcaption><pre tabindex="0">${JSON.stringify(items.find((e) => e.eventId === open), null, 2)}</pre></figure>`}
      <nav class="pager" aria-label="Event pages">
        <button type="button" onClick=${previous} disabled=${pageNumber < 2 || page.busy}>← Previous page</button>
        <span>Page ${pageNumber}</span>
        <button type="button" onClick=${next} disabled=${!page.result?.nextCursor || page.busy}>Next page →</button>
      </nav>`}
  </section>`;
}
