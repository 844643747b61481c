// npm run bench:flood — one identity hammering POST /v1/credentials (mapped to nothing: every served
// request is an audited denial, as in issue 10), a well-behaved mapped identity alongside from the
// same address, and anonymous junk tokens. Bounded: FLOOD_SECONDS (default 13), loopback only.
import { envInt, MAPPED_SUBJECT, percentile, startAbuseDab, timedGrant } from './abuse-fixtures.js';

const SECONDS = envInt('FLOOD_SECONDS', 13, 120);
const CONCURRENCY = envInt('FLOOD_CONCURRENCY', 16, 256);

const dab = await startAbuseDab({});
const flooder = await dab.issuer.sign({ sub: 'flooder' }, { expiresIn: '1h' });
const good = await dab.issuer.sign({ sub: MAPPED_SUBJECT }, { expiresIn: '1h' });
const countRows = async (where: string) => Number((await dab.store.query(`SELECT count(*)::int AS n FROM audit_events WHERE ${where}`)).rows[0]?.n);
const before = await countRows('true');

const flood = new Map<number, number>();
const junk = new Map<number, number>();
const goodLatency: number[] = [];
let goodOk = 0;
let goodTotal = 0;
const end = Date.now() + SECONDS * 1000;

async function hammer(bearer: string, into: Map<number, number>): Promise<void> {
  while (Date.now() < end) {
    const { status } = await timedGrant(dab.url, bearer);
    into.set(status, (into.get(status) ?? 0) + 1);
  }
}
async function wellBehaved(): Promise<void> {
  // A pool refreshing tokens: one request every 100 ms.
  while (Date.now() < end) {
    const r = await timedGrant(dab.url, good);
    goodTotal++;
    if (r.status === 200) (goodOk++, goodLatency.push(r.ms));
    await new Promise((res) => setTimeout(res, 100));
  }
}
await Promise.all([
  ...Array.from({ length: CONCURRENCY }, () => hammer(flooder, flood)),
  hammer(`${flooder.slice(0, -6)}AAAAAA`, junk),
  wellBehaved(),
]);
// Shutdown writes the summary rows of windows still open.
const denials = await countRows("event_type = 'credential.denied' AND actor_subject = 'flooder'");
const metrics = await (await fetch(`${dab.url}/metrics`)).text();
await dab.app.close();
const rateRows = await countRows("event_type LIKE 'rate_limit.%'").catch(() => NaN);
const total = await countRows('true').catch(() => NaN);
await dab.close().catch(() => undefined);

const fmt = (m: Map<number, number>) => [...m].sort().map(([s, n]) => `${s}: ${n}`).join(', ');
const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);
console.log(`flood: ${SECONDS} s, ${CONCURRENCY} concurrent loops for one identity, store ${dab.storeLabel}, default rateLimit`);
console.log(`flooder (authenticated, unmapped): ${sum(flood)} requests — ${fmt(flood)}; audited denials ${denials}`);
console.log(`anonymous junk token: ${sum(junk)} requests — ${fmt(junk)}`);
console.log(`audit rows written during the run: ${total - before} (rate_limit.* rows: ${rateRows})`);
console.log(`well-behaved identity (same address): ${goodOk}/${goodTotal} served (${((100 * goodOk) / Math.max(1, goodTotal)).toFixed(1)} %), p50 ${percentile(goodLatency, 50).toFixed(1)} ms, p99 ${percentile(goodLatency, 99).toFixed(1)} ms`);
console.log(metrics.split('\n').filter((l) => l.startsWith('dab_rate_limited_total') || l.startsWith('dab_rate_limit_audit_rows_total')).join('\n'));
