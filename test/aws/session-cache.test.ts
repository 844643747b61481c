import t from 'tap';
import { createSessionCache } from '../../src/aws/session-cache.js';
import { sessionIdentity } from '../../src/aws/session-names.js';
import type { AssumeRoleInput } from '../../src/aws/sts-client.js';

const STS_NAME = /^[\w+=,.@-]{2,64}$/;

t.test('session names respect STS charset and length, and stay distinct per caller', async (t) => {
  const cases = [
    { subject: 'app-orders', name: 'dab.app-orders', source: 'app-orders' },
    { subject: 'system:serviceaccount:payments:api', name: /^dab\.system_serviceaccount_payments_api-[0-9a-f]{10}$/, source: /^system_serviceaccount_payments_api-[0-9a-f]{10}$/ },
    { subject: 'x', name: 'dab.x', source: /^x-[0-9a-f]{10}$/ },
    { subject: 'é'.repeat(100), name: STS_NAME, source: STS_NAME },
    { subject: 'a'.repeat(200), name: STS_NAME, source: STS_NAME },
  ];
  for (const c of cases) {
    const ids = sessionIdentity({ issuer: 'https://idp', subject: c.subject, groups: [] }, 'dab');
    t.match(ids.roleSessionName, STS_NAME, `${c.subject.slice(0, 20)}: session name is valid`);
    t.match(ids.sourceIdentity, STS_NAME, `${c.subject.slice(0, 20)}: source identity is valid`);
    t.match(ids.roleSessionName, c.name);
    t.match(ids.sourceIdentity, c.source);
  }
  const a = sessionIdentity({ issuer: 'https://a', subject: 'a:b', groups: [] }, 'dab');
  const b = sessionIdentity({ issuer: 'https://a', subject: 'a/b', groups: [] }, 'dab');
  t.not(a.sourceIdentity, b.sourceIdentity, 'subjects that clean to the same text stay distinct');
});

t.test('the cache: hit, refresh threshold, failures not cached, bounded size', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const calls: AssumeRoleInput[] = [];
  let failNext = false;
  const cache = createSessionCache({
    assumeRole: async (input) => {
      calls.push(input);
      if (failNext) throw Object.assign(new Error('nope'), { name: 'Throttling' });
      return { accessKeyId: `ASIA${calls.length}`, secretAccessKey: 's', sessionToken: 't', expiration: new Date(now + input.durationSeconds * 1000) };
    },
    now: () => new Date(now),
    sessionDurationSeconds: 3600,
    refreshMarginSeconds: 300,
    sessionNamePrefix: 'dab',
    setSourceIdentity: true,
    maxEntries: 2,
  });
  const caller = (subject: string) => ({ issuer: 'https://idp', subject, groups: [] });
  const role = 'arn:aws:iam::123456789012:role/r';

  t.equal((await cache.get({ roleArn: role, externalId: 'e', caller: caller('a') })).outcome, 'miss');
  t.equal((await cache.get({ roleArn: role, externalId: 'e', caller: caller('a') })).outcome, 'hit');
  t.equal(calls[0]?.externalId, 'e');
  t.match(calls[0]?.sourceIdentity, /^a-[0-9a-f]{10}$/, 'one-letter subjects are padded to STS minimum');
  t.equal((await cache.get({ roleArn: role, externalId: 'other', caller: caller('a') })).outcome, 'miss', 'ExternalId is part of the key');

  now += (3600 - 1200 + 1) * 1000; // less than 900 s + 300 s margin left
  failNext = true;
  await t.rejects(cache.get({ roleArn: role, externalId: 'e', caller: caller('a') }), { name: 'Throttling' });
  failNext = false;
  const refreshed = await cache.get({ roleArn: role, externalId: 'e', caller: caller('a') });
  t.equal(refreshed.outcome, 'refresh', 'a failure is not cached; the next call tries again');
  t.ok(refreshed.session.expiration.getTime() - now >= 3599_000);

  await cache.get({ roleArn: role, caller: caller('b') });
  await cache.get({ roleArn: role, caller: caller('c') });
  t.ok(cache.size <= 2, `size stays bounded (${cache.size})`);
});

t.test('concurrent misses for one key share one AssumeRole; other keys are not held up', async (t) => {
  const pending: Array<() => void> = [];
  const calls: AssumeRoleInput[] = [];
  const cache = createSessionCache({
    assumeRole: (input) => {
      calls.push(input);
      return new Promise((resolve) => pending.push(() => resolve({ accessKeyId: `ASIA${calls.length}`, secretAccessKey: 's', sessionToken: 't', expiration: new Date(Date.now() + 3600_000) })));
    },
    now: () => new Date(),
    sessionDurationSeconds: 3600,
    refreshMarginSeconds: 300,
    sessionNamePrefix: 'dab',
    setSourceIdentity: true,
    maxEntries: 10,
  });
  const request = (subject: string) => ({ roleArn: 'arn:aws:iam::123456789012:role/r', caller: { issuer: 'https://idp', subject, groups: [] } });
  const alice = Array.from({ length: 5 }, () => cache.get(request('alice')));
  const bob = cache.get(request('bob'));
  t.equal(calls.length, 2, 'one AssumeRole for five concurrent alice misses, one for bob');
  for (const release of pending) release();
  const sessions = await Promise.all(alice);
  t.equal(new Set(sessions.map((s) => s.session)).size, 1, 'all five got the same session');
  t.same(sessions.map((s) => s.outcome), ['miss', 'miss', 'miss', 'miss', 'miss']);
  t.not((await bob).session, sessions[0]!.session);
  t.equal((await cache.get(request('alice'))).outcome, 'hit');
  t.equal(calls.length, 2);
});
