// Databases for DBAs: the registry, each database's bootstrap artefacts and its preflight check.
import { html, useEffect, useState } from '../vendor/htm-preact.js';
import { getJson, postJson } from './api.js';
import { Badge, CopyBlock, Field, Problem, Table, fmt, useAction } from './ui.js';

const LEVELS = ['ro', 'rw', 'monitor'];

const levelsOf = (db) => LEVELS.filter((l) => db.levels?.[l]).map((l) => ({ level: l, ...db.levels[l] }));
const labelsOf = (db) => Object.entries(db.labels ?? {}).map(([k, v]) => html`<${Badge} kind="label">${k}=${v}<//> `);

export function DatabasesPage({ hash }) {
  const name = decodeURIComponent(hash.split('/')[2] ?? '');
  const [state, load] = useAction(() => getJson('/v1/databases'));
  useEffect(() => {
    load();
  }, []);
  const items = state.result?.items ?? [];
  const selected = name ? items.find((d) => d.name === name) : undefined;
  if (name && state.result && !selected) return html`<section><h1 tabindex="-1">No database ${name}</h1><p><a href="#/databases">All databases</a></p></section>`;
  if (selected) return html`<${DatabaseDetail} db=${selected} />`;
  return html`<section>
    <h1 tabindex="-1">Databases</h1>
    <${Problem} error=${state.error} />
    ${state.busy && html`<p aria-live="polite">Loading…</p>`}
    ${state.result &&
    html`<${Table}
      caption=${`${items.length} registered database${items.length === 1 ? '' : 's'}`}
      rows=${items}
      rowKey=${(d) => d.name}
      empty="No database is registered yet."
      columns=${[
        { label: 'Name', render: (d) => html`<a href=${`#/databases/${encodeURIComponent(d.name)}`}>${d.name}</a>` },
        { label: 'Engine', key: 'engine' },
        { label: 'Endpoint', render: (d) => html`<code>${d.host}:${d.port}</code>` },
        { label: 'Region', key: 'region' },
        { label: 'Levels → DB users', render: (d) => levelsOf(d).map((l) => html`<div><b>${l.level}</b> → <code>${l.dbUser}</code></div>`) },
        { label: 'Labels', render: (d) => (Object.keys(d.labels ?? {}).length ? labelsOf(d) : '—') },
      ]}
    />`}
  </section>`;
}

function DatabaseDetail({ db }) {
  const [schemas, setSchemas] = useState('');
  const [login, setLogin] = useState(true);
  const [artefacts, loadArtefacts] = useAction(() =>
    getJson(`/v1/databases/${encodeURIComponent(db.name)}/bootstrap`, { schema: schemas.split(',').map((s) => s.trim()).filter(Boolean) }),
  );
  const [check, runCheck] = useAction(() => postJson(`/v1/databases/${encodeURIComponent(db.name)}/check`, { login }));
  const facts = [
    ['Engine', db.engine],
    ['Endpoint', `${db.host}:${db.port}`],
    ['Region', db.region],
    ['Database name', db.dbname],
    ['Role', db.roleArn],
    ['SSL mode', db.sslmode],
    ['Description', db.description],
    ['Version', db.version],
  ];
  return html`<section>
    <p><a href="#/databases">← All databases</a></p>
    <h1 tabindex="-1">${db.name}</h1>
    <dl class="facts">${facts.map(([k, v]) => html`<dt>${k}</dt><dd>${fmt(v)}</dd>`)}<dt>Labels</dt><dd>${Object.keys(db.labels ?? {}).length ? labelsOf(db) : '—'}</dd></dl>
    <${Table}
      caption="Access levels"
      rows=${levelsOf(db)}
      columns=${[
        { label: 'Level', key: 'level' },
        { label: 'DB user', render: (l) => html`<code>${l.dbUser}</code>` },
        { label: 'Role', render: (l) => fmt(l.roleArn ?? db.roleArn) },
      ]}
    />

    <h2>Bootstrap artefacts</h2>
    <form class="inline" onSubmit=${(e) => (e.preventDefault(), loadArtefacts())}>
      <${Field} label="Schemas (comma-separated; PostgreSQL: default public)" name="schemas" value=${schemas} onInput=${setSchemas} />
      <button type="submit" disabled=${artefacts.busy}>Show SQL and policies</button>
    </form>
    <${Problem} error=${artefacts.error} />
    ${artefacts.result && html`<${Artefacts} a=${artefacts.result} />`}

    <h2>Preflight check</h2>
    <form class="inline" onSubmit=${(e) => (e.preventDefault(), runCheck())}>
      <${Field} type="checkbox" label="Also log in with each token" name="login" value=${login} onInput=${setLogin} />
      <button type="submit" disabled=${check.busy}>${check.busy ? 'Checking…' : 'Run preflight check'}</button>
    </form>
    <${Problem} error=${check.error} />
    ${check.result && html`<${CheckResult} r=${check.result} />`}
  </section>`;
}

function Artefacts({ a }) {
  return html`<div class="artefacts">
    ${a.warnings.length > 0 && html`<ul class="warnings">${a.warnings.map((w) => html`<li>${w}</li>`)}</ul>`}
    ${a.sql && html`<${CopyBlock} label="SQL for the master user" text=${a.sql} />`}
    ${a.commands && html`<${CopyBlock} label="Commands" text=${a.commands} />`}
    ${a.roles.map(
      (r) => html`<h3>Role <code>${r.roleArn}</code> (${r.levels.join(', ')})</h3>
        ${r.warnings.length > 0 && html`<ul class="warnings">${r.warnings.map((w) => html`<li>${w}</li>`)}</ul>`}
        <${CopyBlock} label="Trust policy" text=${JSON.stringify(r.trustPolicy, null, 2)} />
        <${CopyBlock} label="Permission policy" text=${JSON.stringify(r.permissionPolicy, null, 2)} />`,
    )}
  </div>`;
}

function CheckResult({ r }) {
  const kind = (s) => (s === 'ok' ? 'ok' : s === 'failed' ? 'bad' : 'muted');
  return html`<div>
    <p class=${r.ok ? 'verdict ok' : 'verdict bad'} role="status">${r.ok ? 'Every level passed.' : 'At least one step failed.'}</p>
    <${Table}
      caption=${`Preflight of ${r.database}`}
      rows=${r.levels}
      columns=${[
        { label: 'Level', key: 'level' },
        { label: 'DB user', render: (l) => html`<code>${l.dbUser}</code>` },
        { label: 'Steps', render: (l) => l.steps.map((s) => html`<div><${Badge} kind=${kind(s.status)}>${s.step}: ${s.status}<//> ${s.message}</div>`) },
      ]}
    />
  </div>`;
}
