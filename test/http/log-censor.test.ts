import tap from 'tap';
import { CENSOR, censorSecrets } from '../../src/http/log-censor.js';

tap.test('an object without secrets is logged as it is, not copied', async (t) => {
  const line = { method: 'POST', path: '/v1/credentials', status: 200, caller: { issuer: 'https://idp', subject: 'app' }, groups: ['a', 'b'] };
  t.equal(censorSecrets(line), line, 'the same object');
  t.equal(censorSecrets(null), null);
  t.equal(censorSecrets('text'), 'text');
});

tap.test('secrets are censored at each of the first three levels, in a copy', async (t) => {
  const logged = {
    token: 'top-level-token',
    grant: { token: 'host:5432/?Action=connect&X-Amz-Signature=f00d', dbUser: 'app_ro' },
    req: { headers: { authorization: 'Bearer abc', cookie: 'sid=1', host: 'dab' } },
    credentials: { secretAccessKey: 'k', sessionToken: 's', SecretAccessKey: 'K', SessionToken: 'S', accessKeyId: 'ASIA' },
    database: { externalId: 'ext', name: 'orders' },
    list: [{ password: 'p' }, { name: 'fine' }],
  };
  const before = JSON.stringify(logged);
  const out = censorSecrets(logged);
  t.same(out, {
    token: CENSOR,
    grant: { token: CENSOR, dbUser: 'app_ro' },
    req: { headers: { authorization: CENSOR, cookie: CENSOR, host: 'dab' } },
    credentials: { secretAccessKey: CENSOR, sessionToken: CENSOR, SecretAccessKey: CENSOR, SessionToken: CENSOR, accessKeyId: 'ASIA' },
    database: { externalId: CENSOR, name: 'orders' },
    list: [{ password: CENSOR }, { name: 'fine' }],
  });
  t.equal(JSON.stringify(logged), before, 'the caller\'s object is left untouched');
  t.equal(out.list[1], logged.list[1], 'branches without a secret are shared, not copied');
});

tap.test('an error carrying a secret keeps its message and stack', async (t) => {
  const err = Object.assign(new Error('STS refused'), { token: 'secret-token' });
  const out = censorSecrets({ err });
  t.ok(out.err instanceof Error, 'still an error');
  t.equal(out.err.message, 'STS refused');
  t.equal(out.err.stack, err.stack);
  t.equal((out.err as Error & { token: string }).token, CENSOR);
  t.equal(err.token, 'secret-token', 'the original error is untouched');
});

tap.test('absent and null values are not replaced, and depth is bounded', async (t) => {
  const logged = { grant: { token: null, password: undefined }, a: { b: { c: { token: 'deep' } } } };
  t.equal(censorSecrets(logged), logged, 'nothing to censor at the first three levels');
});
