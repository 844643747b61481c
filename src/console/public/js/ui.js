// Small shared pieces: forms with real labels, readable tables, problem display, formatting.
import { html, useState } from '../vendor/htm-preact.js';

let nextId = 0;
/** A stable id for label/for pairs. */
export const fieldId = (name) => `f-${name}-${++nextId}`;

/** A labelled input: the label is always visible (no placeholder-only fields). */
export function Field({ label, name, value, onInput, type = 'text', hint, required, options, rows, ...rest }) {
  const [id] = useState(() => fieldId(name));
  const hintId = hint ? `${id}-hint` : undefined;
  const set = (e) => onInput(type === 'checkbox' ? e.currentTarget.checked : e.currentTarget.value);
  let control;
  if (options) {
    control = html`<select id=${id} name=${name} value=${value} onChange=${set} required=${required} aria-describedby=${hintId}>
      ${options.map((o) => (typeof o === 'string' ? html`<option value=${o}>${o || '(any)'}</option>` : html`<option value=${o.value}>${o.label}</option>`))}
    </select>`;
  } else if (rows) {
    control = html`<textarea id=${id} name=${name} rows=${rows} value=${value} onInput=${set} required=${required} aria-describedby=${hintId} spellcheck="false" ...${rest}></textarea>`;
  } else if (type === 'checkbox') {
    return html`<div class="field check"><input id=${id} name=${name} type="checkbox" checked=${value} onChange=${set} aria-describedby=${hintId} /><label for=${id}>${label}</label>${hint && html`<small id=${hintId}>${hint}</small>`}</div>`;
  } else {
    control = html`<input id=${id} name=${name} type=${type} value=${value} onInput=${set} required=${required} aria-describedby=${hintId} autocomplete="off" ...${rest} />`;
  }
  return html`<div class="field"><label for=${id}>${label}</label>${control}${hint && html`<small id=${hintId}>${hint}</small>`}</div>`;
}

/**
 * A table with a caption and column headers. On a phone each row becomes a card of label: value
 * lines (console.css); the explicit roles keep it a table for screen readers when CSS reflows it.
 */
export function Table({ caption, columns, rows, empty = 'Nothing to show.', rowKey, rowClass }) {
  if (!rows.length) return html`<p class="empty">${empty}</p>`;
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${caption}>
    <table role="table">
      <caption>${caption}</caption>
      <thead role="rowgroup"><tr role="row">${columns.map((c) => html`<th scope="col" role="columnheader">${c.label}</th>`)}</tr></thead>
      <tbody role="rowgroup">
        ${rows.map(
          (r, i) => html`<tr role="row" key=${rowKey ? rowKey(r) : i} data-key=${rowKey ? rowKey(r) : undefined} class=${rowClass ? rowClass(r) : ''}>
            ${columns.map((c) => html`<td role="cell" data-label=${c.label}><span class="cell">${c.render ? c.render(r) : fmt(r[c.key])}</span></td>`)}
          </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** An API problem (RFC 9457) as the person should read it: title, detail, field errors. */
export function Problem({ error }) {
  if (!error) return null;
  const p = error.problem ?? {};
  const errors = Array.isArray(p.errors) ? p.errors : [];
  return html`<div class="problem" role="alert">
    <strong>${p.title ?? 'Error'}${error.status ? ` (${error.status})` : ''}</strong>
    ${p.detail && html`<p>${p.detail}</p>`}
    ${!p.title && !p.detail && html`<p>${error.message}</p>`}
    ${errors.length > 0 && html`<ul>${errors.map((e) => html`<li><code>${e.pointer ?? e.field ?? ''}</code> ${e.detail ?? e.message ?? ''}</li>`)}</ul>`}
  </div>`;
}

/** Runs an async action, keeping its result, error and busy state for the page. */
export function useAction(fn) {
  const [state, setState] = useState({ busy: false, error: null, result: undefined });
  const run = async (...args) => {
    setState((s) => ({ ...s, busy: true, error: null }));
    try {
      const result = await fn(...args);
      setState({ busy: false, error: null, result });
      return result;
    } catch (error) {
      setState({ busy: false, error, result: undefined });
      return undefined;
    }
  };
  return [state, run, setState];
}

export function fmt(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** An instant as local time, with the exact UTC value on hover. */
export function When({ at }) {
  if (!at) return '—';
  const d = new Date(at);
  return html`<time datetime=${at} title=${at}>${d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })}</time>`;
}

/** A datetime-local value (no zone) to RFC 3339 in the browser's zone, as the API wants. */
export function toInstant(local) {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function describePrincipal(p) {
  if (!p) return '—';
  if (p.aws) return `AWS ${p.aws}`;
  if (p.awsAccount) return `AWS account ${p.awsAccount}`;
  if (p.subject) return `${p.subject} (${p.issuer})`;
  if (p.group) return `group ${p.group} (${p.issuer})`;
  if (p.claim) return `${p.claim.name}=${p.claim.value} (${p.issuer})`;
  return JSON.stringify(p);
}

export const Badge = ({ kind, children }) => html`<span class=${`badge badge-${kind}`}>${children}</span>`;

/** A pre block with a copy button (bootstrap SQL, policies). */
export function CopyBlock({ label, text }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false);
    }
  };
  return html`<figure class="copy">
    <figcaption>${label} <button type="button" class="small" onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button></figcaption>
    <pre tabindex="0">${text}</pre>
  </figure>`;
}

/** Saves a Blob under a file name: an object URL (blob:), so no token or data ever sits in a URL. */
export function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A step that needs a reason (deny, revoke, review): its button opens a one-field form in place. */
export function ReasonAction({ label, field, danger, busy, onSubmit }) {
  const [open, setOpen] = useState(false);
  const [text, setText] = useState('');
  if (!open) return html`<button type="button" class="small" onClick=${() => setOpen(true)}>${label}…</button>`;
  const submit = async (e) => {
    e.preventDefault();
    if ((await onSubmit(text.trim())) !== undefined) setOpen(false);
  };
  return html`<form class="inline" aria-label=${label} onSubmit=${submit}>
    <${Field} label=${field} name="reason" value=${text} onInput=${setText} required maxlength="500" />
    <div class="actions"><button type="submit" class=${danger ? 'danger small' : 'primary small'} disabled=${busy}>${label}</button><button type="button" class="small" onClick=${() => setOpen(false)}>Back</button></div>
  </form>`;
}
