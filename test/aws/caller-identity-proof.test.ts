import t from 'tap';
import { proofRules } from '../../src/auth/aws-authenticator.js';
import { parseProof, rebuildProofUrl, stsHostsFor, type ProofRules } from '../../src/aws/caller-identity-proof.js';
import { parseConfig } from '../../src/config/load-config.js';
import { presignedUrl, proofOf } from '../support/aws-callers.js';

// Which STS a proof may send dab to, without any network: the partition's fixed host list, or
// exactly the configured endpoint; https only, but for a loopback endpoint. (Vault CVE-2020-16250:
// a proof naming its own "STS" host let a caller answer for itself.)

const rules = (hosts: Iterable<string>, allowHttp = false): ProofRules => ({ allowedHosts: new Set(hosts), allowHttp, maxAgeSeconds: 300, clockToleranceSeconds: 30 });
const AWS = rules(stsHostsFor('aws', ['us-east-1']));
const CN = rules(stsHostsFor('aws-cn', ['cn-north-1']));
const check = async (endpoint: string, r: ProofRules) => {
  try {
    parseProof(proofOf(await presignedUrl({ endpoint })), r, new Date());
    return 'accepted';
  } catch (err) {
    return (err as { reason?: string }).reason ?? String(err);
  }
};

t.test('the partition aws: the global host and the configured regions only', async (t) => {
  t.equal(await check('https://sts.amazonaws.com', AWS), 'accepted');
  t.equal(await check('https://sts.us-east-1.amazonaws.com', AWS), 'accepted');
  t.equal(await check('https://STS.US-EAST-1.AMAZONAWS.COM', AWS), 'accepted', 'host names are case-insensitive');
  t.equal(await check('https://sts.eu-west-1.amazonaws.com', AWS), 'proof_wrong_host', 'a region not configured');
  t.equal(await check('https://sts.amazonaws.com.evil.example', AWS), 'proof_wrong_host');
  t.equal(await check('https://sts-amazonaws.com', AWS), 'proof_wrong_host');
  t.equal(await check('https://evil.example', AWS), 'proof_wrong_host');
  t.equal(await check('https://sts.us-east-1.amazonaws.com:8443', AWS), 'proof_wrong_host', 'another port');
  t.equal(await check('http://sts.us-east-1.amazonaws.com', AWS), 'proof_not_https');
});

t.test('the partition aws-cn: its own suffix, and no global host', async (t) => {
  t.equal(await check('https://sts.cn-north-1.amazonaws.com.cn', CN), 'accepted');
  t.equal(await check('https://sts.amazonaws.com', CN), 'proof_wrong_host');
  t.equal(await check('https://sts.cn-north-1.amazonaws.com', CN), 'proof_wrong_host');
});

t.test('a configured endpoint is the only host; http only when it is http (loopback)', async (t) => {
  const base = { auth: { issuers: [{ issuer: 'https://idp.example', audience: 'dab' }] }, audit: { fingerprintKey: 'a'.repeat(64) } };
  const https = parseConfig({ ...base, auth: { ...base.auth, aws: { serverId: 'dab', endpoint: 'https://sts.internal.example:8443' } } }).auth.aws;
  const http = parseConfig({ ...base, auth: { ...base.auth, aws: { serverId: 'dab', endpoint: 'http://127.0.0.1:4566' } } }).auth.aws;
  if (!https || !http) throw new Error('auth.aws missing');
  t.equal(await check('https://sts.internal.example:8443', proofRules(https, 'us-east-1', 30)), 'accepted');
  t.equal(await check('https://sts.amazonaws.com', proofRules(https, 'us-east-1', 30)), 'proof_wrong_host', 'the fixed list no longer applies');
  t.equal(await check('http://sts.internal.example:8443', proofRules(https, 'us-east-1', 30)), 'proof_not_https');
  t.equal(await check('http://127.0.0.1:4566', proofRules(http, 'us-east-1', 30)), 'accepted');
});

t.test('dab rebuilds the request from the parsed values: the caller\'s encoding does not travel', async (t) => {
  const url = await presignedUrl({ endpoint: 'https://sts.us-east-1.amazonaws.com' });
  // Needless escapes (%41 for A) and another parameter order decode to the same values.
  const [origin, query] = url.split('?') as [string, string];
  const bent = `${origin}?${query.split('&').reverse().join('&').replace('Action=GetCallerIdentity', 'Action=%47etCallerIdentity')}`;
  const rebuilt = rebuildProofUrl(parseProof(proofOf(bent), AWS, new Date()));
  t.equal(rebuilt.toString(), rebuildProofUrl(parseProof(proofOf(url), AWS, new Date())).toString());
  t.match(rebuilt.toString(), /^https:\/\/sts\.us-east-1\.amazonaws\.com\/\?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=/);
});
