// The console's shell: sign-in state, tier-aware navigation, hash routing.
import { html, render, useEffect, useRef, useState } from '../vendor/htm-preact.js';
import { completeSignIn, currentSession, readSettings, signIn, signOut } from './auth.js';
import { ApiError, mayUse, whenExpired } from './api.js';
import { Problem } from './ui.js';
import { MyAccessPage } from './pages-mine.js';
import { RequestsPage } from './pages-requests.js';
import { ApprovalsPage } from './pages-approvals.js';
import { DatabasesPage } from './pages-databases.js';
import { MappingsPage } from './pages-mappings.js';
import { ExplainPage, DryRunPage } from './pages-decide.js';
import { EventsPage } from './pages-events.js';
import { HoldersPage, LookupPage, IntegrityPage } from './pages-audit.js';

// Each page names the tier whose API it calls; navigation shows only what the token may use.
const PAGES = [
  { path: '#/mine', label: 'What can I get', tier: 'caller', view: MyAccessPage },
  { path: '#/requests', label: 'Request access', tier: 'caller', view: RequestsPage },
  { path: '#/approvals', label: 'Approvals', tier: 'caller', view: ApprovalsPage },
  { path: '#/databases', label: 'Databases', tier: 'admin', view: DatabasesPage },
  { path: '#/mappings', label: 'Mappings', tier: 'admin', view: MappingsPage },
  { path: '#/explain', label: 'Explain', tier: 'admin', view: ExplainPage },
  { path: '#/dry-run', label: 'Dry-run', tier: 'admin', view: DryRunPage },
  { path: '#/events', label: 'Events', tier: 'auditor', view: EventsPage },
  { path: '#/holders', label: 'Who held it?', tier: 'auditor', view: HoldersPage },
  { path: '#/lookup', label: 'Token lookup', tier: 'auditor', view: LookupPage },
  { path: '#/integrity', label: 'Integrity', tier: 'auditor', view: IntegrityPage },
];

const useHash = () => {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
};

async function probeTiers() {
  // Reads only: refused tiers answer 403 and write nothing to the audit log.
  const [admin, auditor] = await Promise.all([mayUse('/v1/databases'), mayUse('/v1/audit/checkpoints/latest')]);
  return { caller: true, admin, auditor };
}

function App({ settings }) {
  const [phase, setPhase] = useState(settings ? 'starting' : 'unconfigured');
  const [error, setError] = useState(null);
  const [tiers, setTiers] = useState(null);
  const hash = useHash();

  useEffect(() => {
    whenExpired(() => {
      signOut();
      setPhase((p) => (p === 'ready' || p === 'starting' ? 'expired' : p));
    });
    if (!settings) return;
    (async () => {
      try {
        const back = await completeSignIn(settings);
        if (back === null) return setPhase('signed-out');
        setTiers(await probeTiers());
        setPhase('ready');
      } catch (err) {
        signOut();
        setError(err);
        setPhase(err instanceof ApiError && err.status === 401 ? 'expired' : 'signed-out');
      }
    })();
  }, []);

  // The token's own expiry, even when no request is made: the page says so instead of failing later.
  useEffect(() => {
    if (phase !== 'ready') return undefined;
    const s = currentSession();
    if (!s) return undefined;
    const timer = setTimeout(() => {
      signOut();
      setPhase('expired');
    }, Math.max(0, s.expiresAt - Date.now()));
    return () => clearTimeout(timer);
  }, [phase]);

  const start = () => signIn(settings, location.hash || '#/').catch((err) => setError(err));
  const leave = () => {
    signOut();
    setTiers(null);
    setError(null);
    setPhase('signed-out');
    history.replaceState(null, '', '/console/');
  };

  if (phase === 'unconfigured') return html`<${Frame}><${Unconfigured} /><//>`;
  if (phase === 'starting') return html`<${Frame}><p>Signing in…</p><//>`;
  if (phase === 'signed-out' || phase === 'expired') {
    return html`<${Frame}>
      <section class="sign-in" aria-labelledby="sign-in-title">
        <h1 id="sign-in-title" tabindex="-1">${phase === 'expired' ? 'Your session has expired' : 'Sign in to the dab console'}</h1>
        <p>${phase === 'expired' ? 'Your sign-in ran out or was refused by dab. Nothing was lost: sign in again to continue.' : `You sign in at ${settings.issuer}; what you see follows what dab lets you do.`}</p>
        <${Problem} error=${error} />
        <button type="button" class="primary" onClick=${start}>${phase === 'expired' ? 'Sign in again' : 'Sign in'}</button>
      </section>
    <//>`;
  }

  const pages = PAGES.filter((p) => tiers[p.tier]);
  const current = pages.find((p) => hash === p.path || hash.startsWith(`${p.path}/`)) ?? defaultPage(pages, tiers);
  const View = current.view;
  return html`<${Frame} session=${currentSession()} onSignOut=${leave}>
    <nav aria-label="Console pages"><ul>
      ${pages.map((p) => html`<li><a href=${p.path} aria-current=${p === current ? 'page' : undefined}>${p.label}</a></li>`)}
    </ul></nav>
    <main id="main"><${Focus} key=${current.path}><${View} hash=${hash} settings=${settings} tiers=${tiers} /><//></main>
  <//>`;
}

/** A DBA lands on databases, an auditor on events, anyone else on what they can get. */
function defaultPage(pages, tiers) {
  const want = tiers.admin ? '#/databases' : tiers.auditor ? '#/events' : '#/mine';
  return pages.find((p) => p.path === want) ?? pages[0];
}

/** Moves keyboard focus to the new page's heading, so screen readers and Tab start there. */
function Focus({ children }) {
  const ref = useRef(null);
  useEffect(() => {
    ref.current?.querySelector('h1')?.focus();
  }, []);
  return html`<div ref=${ref}>${children}</div>`;
}

function Frame({ session, onSignOut, children }) {
  return html`<div class="frame">
    <header class="top">
      <a class="brand" href="#/">dab console</a>
      ${session && html`<div class="who"><span>Signed in as <b>${session.subject}</b></span> <button type="button" onClick=${onSignOut}>Sign out</button></div>`}
    </header>
    ${children}
  </div>`;
}

function Unconfigured() {
  return html`<section><h1 tabindex="-1">Console sign-in is not configured</h1>
    <p>Set <code>console.oidc</code> (issuer, clientId, scopes) in dab's configuration, or <code>DAB_CONSOLE_OIDC</code>, naming one of <code>auth.issuers</code> and a public client whose redirect URI is <code>${location.origin}/console/</code>. README, section Console, has the details.</p></section>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} settings=${readSettings()} />`, root);
