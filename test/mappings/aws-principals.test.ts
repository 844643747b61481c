import t from 'tap';
import { verifyAuditLog } from '../../src/audit/verify-chain.js';
import { eventMacKeyBytes } from '../../src/config/load-config.js';
import { startHarness } from '../support/harness.js';
import { asSuperuser } from '../support/seal-helpers.js';
import { APP, APP_ACCOUNT, IAM_USER, OTHER_ACCOUNT_APP, ROOT, signedProof, startAwsHarness } from '../support/aws-callers.js';

// DBAs name AWS principals as they name OIDC ones: a role ARN (path or not), a user ARN, or an
// account. The account is always part of the match: the same role name in another account is
// someone else (Vault CVE-2025-11621 was a cache keyed without it).

const h = await startAwsHarness(t);
const endpoint = h.config.sts.endpoint as string;
const asAdmin = async (method: 'POST' | 'GET', url: string, payload?: object) =>
  h.app.inject({ method, url, ...(payload ? { payload } : {}), headers: { authorization: `Bearer ${await h.adminToken()}` } });
await h.registerOrders();
const PATH_ROLE = `arn:aws:iam::${APP_ACCOUNT}:role/team/apps/demo-ec2-app`;
for (const [name, principal, levels] of [
  ['app-ro', { aws: PATH_ROLE }, ['ro']],
  ['account-rw', { awsAccount: APP_ACCOUNT }, ['rw']],
  ['carol-monitor', { aws: `arn:aws:iam::${APP_ACCOUNT}:user/carol` }, ['monitor']],
] as const) {
  const res = await asAdmin('POST', '/v1/mappings', { name, principal, database: 'orders', levels });
  if (res.statusCode !== 201) throw new Error(res.body);
}
const proofs = { app: await signedProof({ endpoint, creds: APP }), other: await signedProof({ endpoint, creds: OTHER_ACCOUNT_APP }), carol: await signedProof({ endpoint, creds: IAM_USER }) };
const grant = (proof: string, access: string) => h.grant(proof, { database: 'orders', access });

t.test('mappings keep AWS principals as written', async (t) => {
  const res = await asAdmin('GET', '/v1/mappings/app-ro');
  t.same(res.json().principal, { aws: PATH_ROLE });
  t.same((await asAdmin('GET', '/v1/mappings/account-rw')).json().principal, { awsAccount: APP_ACCOUNT });
});

t.test('a role mapping with a path matches the assumed role (account + role name)', async (t) => {
  t.equal((await grant(proofs.app, 'ro')).statusCode, 200);
});

t.test('an account mapping matches every role and user of that account', async (t) => {
  t.equal((await grant(proofs.app, 'rw')).statusCode, 200);
  t.equal((await grant(proofs.carol, 'rw')).statusCode, 200);
});

t.test('an IAM user matches its user ARN whatever its path, and no role mapping', async (t) => {
  t.equal((await grant(proofs.carol, 'monitor')).statusCode, 200);
  t.equal((await grant(proofs.carol, 'ro')).statusCode, 403);
  t.equal((await grant(proofs.app, 'monitor')).statusCode, 403, 'the role is not the user');
});

t.test('the same role name in another account gets nothing', async (t) => {
  for (const level of ['ro', 'rw', 'monitor']) {
    const res = await grant(proofs.other, level);
    t.equal(res.statusCode, 403, level);
    t.equal(res.json().code, 'access_denied');
  }
  const mine = await h.app.inject({ method: 'GET', url: '/v1/access/mine', headers: { authorization: `Bearer ${proofs.other}` } });
  t.same(mine.json().items, []);
});

t.test('root credentials are not a caller', async (t) => {
  const res = await grant(await signedProof({ endpoint, creds: ROOT }), 'rw');
  t.equal(res.statusCode, 401);
  t.match(res.json().detail, /not root/);
});

t.test('access/mine lists what an AWS caller can get, and through which mapping', async (t) => {
  const res = await h.app.inject({ method: 'GET', url: '/v1/access/mine', headers: { authorization: `Bearer ${proofs.app}` } });
  t.same(res.json().items.map((i: { level: string; mapping: string }) => `${i.level}:${i.mapping}`), ['ro:app-ro', 'rw:account-rw']);
});

t.test('explain takes an AWS principal by its role ARN', async (t) => {
  const explain = (subject: string, access: string) => asAdmin('POST', '/v1/access/explain', { principal: { issuer: 'aws', subject }, database: 'orders', access });
  const ro = (await explain(`arn:aws:iam::${APP_ACCOUNT}:role/demo-ec2-app`, 'ro')).json();
  t.match(ro, { allowed: true, rule: { name: 'app-ro' } });
  t.match((await explain(`arn:aws:iam::${APP_ACCOUNT}:role/anything`, 'rw')).json(), { allowed: true, rule: { name: 'account-rw' } }, 'its account applies');
  t.match((await explain('arn:aws:iam::333333333333:role/demo-ec2-app', 'ro')).json(), { allowed: false, reason: 'no_mapping' });
});

t.test('the audit row records the AWS caller, under its MAC', async (t) => {
  const res = await grant(proofs.app, 'ro');
  const [row] = await h.auditRows('event_id = $1', [res.json().grantId]);
  t.match(row, {
    actor_issuer: 'aws',
    actor_subject: `arn:aws:iam::${APP_ACCOUNT}:role/demo-ec2-app`,
    caller_arn: `arn:aws:sts::${APP_ACCOUNT}:assumed-role/demo-ec2-app/i-0123456789abcdef0`,
    caller_account: APP_ACCOUNT,
    caller_session_name: 'i-0123456789abcdef0',
  });
  const auditor = await h.token('auditor-bob');
  const event = (await h.app.inject({ method: 'GET', url: `/v1/audit/events?grantId=${res.json().grantId}`, headers: { authorization: `Bearer ${auditor}` } })).json().items[0];
  t.same(event.awsCaller, { arn: row?.caller_arn, account: APP_ACCOUNT, sessionName: 'i-0123456789abcdef0' });
  const macKey = eventMacKeyBytes(h.config.audit);
  t.match(await verifyAuditLog(h.store, { macKey }), { ok: true });
  // The columns are covered: changing one (as the store's superuser could) breaks the row's MAC.
  const grantId = String(res.json().grantId).replace(/[^0-9a-f-]/g, '');
  await asSuperuser(h.store, (tx) => tx.exec(`UPDATE audit_events SET caller_session_name = 'i-someone-else' WHERE event_id = '${grantId}'`));
  t.match(await verifyAuditLog(h.store, { macKey }), { ok: false, firstBroken: { id: Number(row?.id) } });
});

t.test('a dry-run shows AWS principals among those who gain and lose', async (t) => {
  const exported = (await asAdmin('GET', '/v1/admin/export')).json();
  t.same(exported.mappings.find((m: { name: string }) => m.name === 'app-ro').principal, { aws: PATH_ROLE }, 'export keeps the principal');
  const document = { ...exported, mappings: exported.mappings.filter((m: { name: string }) => m.name !== 'account-rw') };
  const plan = (await asAdmin('POST', '/v1/admin/apply', { document, prune: true, dryRun: true })).json();
  const losses = plan.impact.losses.map((d: { principal: Record<string, string>; level: string }) => `${d.principal.aws ?? d.principal.awsAccount}/${d.level}`).sort();
  t.same(losses, [APP_ACCOUNT, `arn:aws:iam::${APP_ACCOUNT}:role/demo-ec2-app`, `arn:aws:iam::${APP_ACCOUNT}:user/carol`].map((p) => `${p}/rw`).sort());
  t.equal((await asAdmin('POST', '/v1/admin/apply', { document: exported })).json().changes.length, 0, 'the export applies as a no-op');
});

t.test('the reserved issuer name cannot be used as an OIDC principal', async (t) => {
  const res = await asAdmin('POST', '/v1/mappings', { principal: { issuer: 'aws', subject: `arn:aws:iam::${APP_ACCOUNT}:role/x` }, database: 'orders', levels: ['ro'] });
  t.equal(res.statusCode, 400);
  t.match(res.json().errors, [{ field: 'body.principal.issuer', message: /reserved for AWS IAM callers/ }]);
  const assumed = await asAdmin('POST', '/v1/mappings', { principal: { aws: `arn:aws:sts::${APP_ACCOUNT}:assumed-role/x/y` }, database: 'orders', levels: ['ro'] });
  t.equal(assumed.statusCode, 400, 'an assumed-role (session) ARN is not a principal to map');
});

t.test('a dab without auth.aws refuses AWS principals and AWS proofs', async (t) => {
  const plain = await startHarness(t);
  await plain.registerOrders();
  const res = await plain.app.inject({ method: 'POST', url: '/v1/mappings', payload: { principal: { awsAccount: APP_ACCOUNT }, database: 'orders', levels: ['ro'] }, headers: { authorization: `Bearer ${await plain.adminToken()}` } });
  t.equal(res.statusCode, 400);
  t.match(res.json().errors, [{ field: 'body.principal', message: /configure auth\.aws/ }]);
  const proof = await plain.grant(proofs.app, { database: 'orders', access: 'ro' });
  t.equal(proof.statusCode, 401);
  t.match(proof.json().detail, /not a JWT/);
});

t.test('admin routes accept AWS callers only where auth.aws.tiers says', async (t) => {
  t.equal((await h.app.inject({ method: 'GET', url: '/v1/databases', headers: { authorization: `Bearer ${proofs.app}` } })).statusCode, 401, 'default tiers: caller only');
  const admins = await startAwsHarness(t, { aws: { tiers: ['caller', 'admin'] }, config: (base) => base.auth.admins.push({ aws: `arn:aws:iam::${APP_ACCOUNT}:role/demo-ec2-app` }) });
  const at = (proof: string) => admins.app.inject({ method: 'GET', url: '/v1/databases', headers: { authorization: `Bearer ${proof}` } });
  const ep = admins.config.sts.endpoint as string;
  t.equal((await at(await signedProof({ endpoint: ep, creds: APP }))).statusCode, 200);
  t.equal((await at(await signedProof({ endpoint: ep, creds: OTHER_ACCOUNT_APP }))).statusCode, 403, 'same role name, other account: not an admin');
});
