// Grants and denials over time, by outcome: stacked bars in plain SVG (no chart library needed
// for one picture). Each bar has a <title> for hover, and the same numbers are in a table below.
import { html } from '../vendor/htm-preact.js';

export const OUTCOME_COLOURS = { issued: '#2e7d32', denied: '#c62828', failed: '#ef6c00', succeeded: '#1565c0' };
const STEPS = [60e3, 5 * 60e3, 15 * 60e3, 3600e3, 6 * 3600e3, 86400e3, 7 * 86400e3];

/** Buckets events by time (12 to ~48 bars) and outcome. */
export function bucketise(events) {
  if (!events.length) return { step: 0, buckets: [] };
  const times = events.map((e) => Date.parse(e.occurredAt));
  const min = Math.min(...times);
  const max = Math.max(...times);
  const step = STEPS.find((s) => (max - min) / s <= 48) ?? STEPS[STEPS.length - 1];
  // At least 12 bars, ending at the newest: a burst within one minute is a bar among quiet ones, not a wall.
  const end = Math.floor(max / step) * step;
  const start = Math.min(Math.floor(min / step) * step, end - 11 * step);
  const count = Math.floor((end - start) / step) + 1;
  const buckets = Array.from({ length: count }, (_, i) => ({ at: start + i * step, counts: {} }));
  events.forEach((e, i) => {
    const b = buckets[Math.floor((times[i] - start) / step)];
    b.counts[e.outcome] = (b.counts[e.outcome] ?? 0) + 1;
  });
  return { step, buckets };
}

const label = (ms, step) => new Date(ms).toLocaleString(undefined, step >= 86400e3 ? { month: 'short', day: 'numeric' } : { hour: '2-digit', minute: '2-digit' });

export function OutcomeChart({ events, truncated }) {
  const { step, buckets } = bucketise(events);
  if (!buckets.length) return html`<p class="empty">No events to chart.</p>`;
  const outcomes = Object.keys(OUTCOME_COLOURS).filter((o) => buckets.some((b) => b.counts[o]));
  const top = Math.max(1, ...buckets.map((b) => outcomes.reduce((n, o) => n + (b.counts[o] ?? 0), 0)));
  const W = 720;
  const H = 220;
  const pad = { l: 40, r: 8, t: 10, b: 28 };
  const bw = (W - pad.l - pad.r) / buckets.length;
  const y = (n) => pad.t + (H - pad.t - pad.b) * (1 - n / top);
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  const totals = Object.fromEntries(outcomes.map((o) => [o, buckets.reduce((n, b) => n + (b.counts[o] ?? 0), 0)]));
  return html`<figure class="chart">
    <figcaption>Events per ${step >= 86400e3 ? `${step / 86400e3} day(s)` : step >= 3600e3 ? `${step / 3600e3} hour(s)` : `${step / 60e3} minute(s)`}, by outcome${truncated ? ` (the newest ${events.length} matching events)` : ''}</figcaption>
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`Outcomes over time: ${outcomes.map((o) => `${totals[o]} ${o}`).join(', ')}`}>
      <line x1=${pad.l} x2=${W - pad.r} y1=${y(0)} y2=${y(0)} class="axis" />
      <text x=${pad.l - 6} y=${y(top) + 4} class="tick" text-anchor="end">${top}</text>
      <text x=${pad.l - 6} y=${y(0) + 4} class="tick" text-anchor="end">0</text>
      ${buckets.map((b, i) => {
        let acc = 0;
        return html`<g>
          ${outcomes.map((o) => {
            const n = b.counts[o] ?? 0;
            if (!n) return null;
            const y0 = y(acc);
            acc += n;
            return html`<rect x=${pad.l + i * bw + 1} width=${Math.max(1, bw - 2)} y=${y(acc)} height=${y0 - y(acc)} fill=${OUTCOME_COLOURS[o]} class=${`bar bar-${o}`}><title>${`${new Date(b.at).toLocaleString()}: ${n} ${o}`}</title></rect>`;
          })}
          ${i % every === 0 && html`<text x=${pad.l + i * bw + bw / 2} y=${H - 8} class="tick" text-anchor="middle">${label(b.at, step)}</text>`}
        </g>`;
      })}
    </svg>
    <ul class="legend">${outcomes.map((o) => html`<li><span class="swatch" data-outcome=${o}></span>${o}: ${totals[o]}</li>`)}</ul>
  </figure>`;
}
