import t from 'tap';
import { awsProofBearer } from '../../src/client/aws-proof.js';
import { dabPassword } from '../../src/client/pg-password.js';
import { APP, APP_ROLE, SERVER_ID, startAwsHarness, urlOf } from '../support/aws-callers.js';

// The Node helper's AWS option: a bearer function that signs a proof from AWS credentials, reuses
// it, and signs a new one before dab's freshness bound; the server id asked of dab when not given.

const h = await startAwsHarness(t);
await h.registerOrders();
await h.app.inject({ method: 'POST', url: '/v1/mappings', headers: { authorization: `Bearer ${await h.adminToken()}` }, payload: { principal: { aws: APP_ROLE }, database: 'orders', levels: ['ro'] } });
const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
const env = { AWS_ENDPOINT_URL_STS: h.config.sts.endpoint, AWS_REGION: 'us-east-1' };
const credentials = { accessKeyId: APP.accessKeyId, secretAccessKey: APP.secretAccessKey, sessionToken: APP.sessionToken };

t.test('a proof is reused, then replaced a minute before dab\'s bound', async (t) => {
  let now = Date.now();
  const bearer = awsProofBearer({ serverId: SERVER_ID, credentials, env, now: () => now });
  const first = await bearer();
  t.match(urlOf(first), /^http:\/\/127\.0\.0\.1:\d+\/\?Action=GetCallerIdentity&Version=2011-06-15&.*X-Amz-SignedHeaders=host%3Bx-dab-server-id&/);
  now += 239_000;
  t.equal(await bearer(), first, 'reused while more than a minute of its 300 s remains');
  now += 2_000;
  const second = await bearer();
  t.not(second, first, 'a new one after that');
  t.match(urlOf(second), /X-Amz-Expires=300/);
});

t.test('dabPassword with the AWS bearer gets credentials through dab; the server id is asked of dab', async (t) => {
  const password = dabPassword({ url, database: 'orders', access: 'ro', bearer: awsProofBearer({ dabUrl: url, credentials, env }) });
  t.match(await password(), /^orders\.cluster-abc123\.us-east-1\.rds\.amazonaws\.com:5432\/\?Action=connect&DBUser=orders_ro&/);
  t.same(h.sts.serverIdsSeen.slice(-1), [SERVER_ID]);
});

t.test('without a server id and a dab that does not accept AWS callers, the error says so', async (t) => {
  await t.rejects(awsProofBearer({ credentials, env })(), /needs dab's server id/);
  const plain = await startAwsHarness(t, { config: (base) => delete base.auth.aws });
  const plainUrl = await plain.app.listen({ host: '127.0.0.1', port: 0 });
  await t.rejects(awsProofBearer({ dabUrl: plainUrl, credentials, env })(), /does not accept AWS IAM callers \(GET \/v1\/auth\/aws answered 404\)/);
});

t.test('GET /v1/auth/aws tells a caller how to build a proof, without authentication', async (t) => {
  const res = await h.app.inject({ method: 'GET', url: '/v1/auth/aws' });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { serverId: SERVER_ID, proofFormat: 'dab-aws-v1', maxProofAgeSeconds: 300, tiers: ['caller'] });
});
