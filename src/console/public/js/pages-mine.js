// "What can I get": GET /v1/access/mine, for any signed-in caller.
import { html, useEffect } from '../vendor/htm-preact.js';
import { getJson } from './api.js';
import { Badge, Problem, Table, When, useAction } from './ui.js';

export function MyAccessPage() {
  const [state, load] = useAction(() => getJson('/v1/access/mine'));
  useEffect(() => {
    load();
  }, []);
  const items = state.result?.items ?? [];
  return html`<section>
    <h1 tabindex="-1">What can I get</h1>
    <p>The databases and levels dab would grant you now, and the mapping that grants each. Ask for credentials with <code>dab creds</code> or <code>POST /v1/credentials</code>.</p>
    <${Problem} error=${state.error} />
    ${state.busy && html`<p aria-live="polite">Loading…</p>`}
    ${state.result &&
    html`<${Table}
      caption=${`Your access at ${new Date(state.result.at).toLocaleString()}`}
      rows=${items}
      empty="No mapping grants you anything right now."
      columns=${[
        { label: 'Database', key: 'database' },
        { label: 'Level', key: 'level' },
        { label: 'Mapping', key: 'mapping' },
        { label: 'Reason needed', render: (r) => (r.requireReason ? html`<${Badge} kind="warn">reason required<//>` : 'no') },
        { label: 'Until', render: (r) => html`<${When} at=${r.expiresAt} />` },
      ]}
    />`}
  </section>`;
}
