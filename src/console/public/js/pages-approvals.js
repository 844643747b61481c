// "Approvals": requests awaiting your decision, active windows you may end, break-glass uses to
// review. ?approvable=true is the API's answer to "whose decision is it" (and every step is checked
// again server-side). Approve, deny and review name the version shown, so a request that changed
// since is refused with 409: the page shows that and reads the lists again.
import { html, useEffect } from '../vendor/htm-preact.js';
import { currentSession } from './auth.js';
import { Problem, ReasonAction, Table, When, useAction } from './ui.js';
import { StateBadge, Window, approvals, duration, listRequests, step } from './requests-shared.js';

const requester = (r) => r.requester.subject;
const common = [
  { label: 'Requester', render: requester },
  { label: 'Database', key: 'database' },
  { label: 'Level', key: 'access' },
  { label: 'Reason', key: 'reason' },
];
const outcome = ({ name, r }) => `${requester(r)}'s ${r.access} on ${r.database}: ${name === 'review' ? 'reviewed' : name === 'approve' && r.state === 'pending' ? `approval recorded (${approvals(r)})` : r.state}.`;

export function ApprovalsPage({ settings, tiers }) {
  const [lists, load] = useAction(async () => {
    const [waiting, active, unreviewed, reviewable] = await Promise.all([
      listRequests({ approvable: 'true', state: 'pending' }),
      // DBAs may end any window (the API lists them all), approvers those of their policies.
      listRequests(tiers.admin ? { state: 'active' } : { approvable: 'true', state: 'active' }),
      listRequests({ breakGlass: 'true', review: 'unreviewed' }),
      listRequests({ breakGlass: 'true', review: 'unreviewed', approvable: 'true' }),
    ]);
    // Nobody ends their own window here (the API refuses it: self_approval); they give it back on Request access.
    const me = currentSession()?.subject;
    const own = (r) => r.requester.issuer === settings.issuer && r.requester.subject === me;
    return { waiting, active: active.filter((r) => !own(r)), unreviewed, reviewable: new Set(reviewable.map((r) => r.id)) };
  });
  const [acted, act] = useAction(async (r, name, body) => {
    try {
      return { name, r: await step(r, name, body) };
    } finally {
      load();
    }
  });
  useEffect(() => {
    load();
  }, []);
  const l = lists.result;
  const decide = (r) => html`<div class="actions">
    <button type="button" class="small primary" disabled=${acted.busy} onClick=${() => act(r, 'approve', { version: r.version })}>Approve</button>
    <${ReasonAction} label="Deny" field="Why you deny (the requester reads it)" danger busy=${acted.busy} onSubmit=${(reason) => act(r, 'deny', { version: r.version, reason })} />
  </div>`;
  return html`<section>
    <h1 tabindex="-1">Approvals</h1>
    <p>Requests for access under a policy that names you as an approver (never your own), windows you may end early, and break-glass uses waiting for review. The CLI does the same with <code>dab approve</code>, <code>dab deny</code> and <code>dab requests</code>.</p>
    <${Problem} error=${lists.error ?? acted.error} />
    ${acted.error?.status === 409 && html`<p role="status">The lists below were read again: look at the request as it is now before you decide.</p>`}
    ${acted.result && html`<p class="verdict ok" role="status">${outcome(acted.result)}</p>`}
    ${l &&
    html`<h2>Waiting for you</h2>
      <${Table} caption="Pending requests you may decide" rows=${l.waiting} rowKey=${(r) => r.id} empty="Nothing awaits your decision."
        columns=${[...common,
          { label: 'Duration', render: (r) => duration(r.durationSeconds) },
          { label: 'Approvals', render: approvals },
          { label: 'Waits until', render: (r) => html`<${When} at=${r.pendingUntil} />` },
          { label: 'Version', key: 'version' },
          { label: 'Decide', render: decide },
        ]} />
      <h2>Active windows</h2>
      <${Table} caption="Open windows you may end now" rows=${l.active} rowKey=${(r) => r.id} empty="No open window is yours to end."
        columns=${[...common,
          { label: 'Window', render: (r) => html`<${Window} r=${r} /> <${StateBadge} r=${r} />` },
          { label: 'Approvals', render: approvals },
          { label: 'End it', render: (r) => html`<${ReasonAction} label="Revoke" field="Why the window ends now" danger busy=${acted.busy} onSubmit=${(reason) => act(r, 'revoke', { reason })} />` },
        ]} />
      <h2>Unreviewed break-glass</h2>
      <${Table} caption="Break-glass uses nobody has reviewed yet" rows=${l.unreviewed} rowKey=${(r) => r.id} empty="No break-glass use awaits review."
        columns=${[...common,
          { label: 'Window', render: (r) => html`<${Window} r=${r} /> <${StateBadge} r=${r} />` },
          { label: 'Policy', key: 'policy' },
          { label: 'Review', render: (r) => (l.reviewable.has(r.id) ? html`<${ReasonAction} label="Mark reviewed" field="What the review found" busy=${acted.busy} onSubmit=${(note) => act(r, 'review', { version: r.version, note })} />` : `an approver of ${r.policy} reviews it`) },
        ]} />`}
  </section>`;
}
