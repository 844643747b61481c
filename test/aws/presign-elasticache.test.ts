// The seam's generic presign for a target other than rds-db: an ElastiCache IAM token (signed host
// = the cache name, Action=connect&User=…[&ResourceType=ServerlessCache], 900 s, scheme stripped)
// equals, byte for byte, what AWS's own SignatureV4 presign + formatUrl give for that request,
// which is how AWS's reference clients build it.
import { formatUrl } from '@aws-sdk/core/util';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import t from 'tap';
import { presign, type PresignTarget } from '../../src/aws/sigv4-presign.js';

const credentials = { accessKeyId: 'ASIAEXAMPLEEXAMPLE01', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE+/=' };

async function library(cacheName: string, params: Record<string, string>, at: Date): Promise<string> {
  const signer = new SignatureV4({ service: 'elasticache', region: 'eu-west-1', credentials, sha256: Sha256 });
  const request = new HttpRequest({ method: 'GET', protocol: 'http:', hostname: cacheName, query: params, headers: { host: cacheName } });
  const signed = await signer.presign(request, { expiresIn: 900, signingDate: at });
  return formatUrl(signed).replace('http://', '');
}

const target = (cacheName: string, params: Record<string, string>): PresignTarget => ({ service: 'elasticache', signedHost: cacheName, params, expiresSeconds: 900 });

t.test('replication group and serverless cache tokens equal the SDK\'s', async (t) => {
  const at = new Date(Date.UTC(2026, 11, 2, 6, 30, 15));
  for (const [cache, params] of [
    ['orders-cache', { Action: 'connect', User: 'orders-ro' }],
    ['orders-serverless', { Action: 'connect', User: 'orders-rw', ResourceType: 'ServerlessCache' }],
    ['c', { Action: 'connect', User: 'user with spaces & symbols=+/' }],
  ] as const) {
    const ours = presign({ target: target(cache, params), region: 'eu-west-1', credentials }, at.getTime());
    t.equal(ours, await library(cache, params, at), cache);
    t.match(ours, new RegExp(`^${cache}/\\?Action=connect&`), 'the cache name, no scheme, no port');
    t.match(ours, /X-Amz-Credential=ASIAEXAMPLEEXAMPLE01%2F20261202%2Feu-west-1%2Felasticache%2Faws4_request/);
  }
  const plain = presign({ target: target('orders-cache', { Action: 'connect', User: 'u' }), region: 'eu-west-1', credentials }, at.getTime());
  const serverless = presign({ target: target('orders-cache', { Action: 'connect', User: 'u', ResourceType: 'ServerlessCache' }), region: 'eu-west-1', credentials }, at.getTime());
  t.not(/X-Amz-Signature=(\w+)/.exec(plain)?.[1], /X-Amz-Signature=(\w+)/.exec(serverless)?.[1], 'ResourceType is signed');
});
