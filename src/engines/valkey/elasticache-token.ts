import type { PresignTarget } from '../../aws/sigv4-presign.js';

// The ElastiCache IAM token (Valkey 7.2+, Redis OSS 7.0+): a presigned GET for service
// "elasticache" whose signed host is the cache *name* (lower case), not the endpoint;
// "<name>/?Action=connect&User=<user id>[&ResourceType=ServerlessCache]&X-Amz-…", 900 s.
// Without ResourceType a serverless cache answers a bare WRONGPASS.

export const ELASTICACHE_SERVICE = 'elasticache';
export const ELASTICACHE_TOKEN_EXPIRES_SECONDS = 900;

export function elastiCacheTarget(cacheName: string, user: string, serverless: boolean): PresignTarget {
  return {
    service: ELASTICACHE_SERVICE,
    signedHost: cacheName,
    params: { Action: 'connect', User: user, ...(serverless ? { ResourceType: 'ServerlessCache' } : {}) },
    expiresSeconds: ELASTICACHE_TOKEN_EXPIRES_SECONDS,
  };
}
