import { Type } from 'typebox';
import type { Engine } from '../engine.js';
import { cacheRegistrationProblems, cacheSettings, VALKEY_FIELDS, VALKEY_LEVEL_FIELDS } from './cache-fields.js';
import { VALKEY_CLIENT_FORMATS } from './client-formats.js';
import { elastiCacheBootstrap } from './elasticache-bootstrap.js';
import { elastiCacheConnectPermission } from './elasticache-policy.js';
import { elastiCacheTarget } from './elasticache-token.js';
import { valkeyLogin } from './login-check.js';

/**
 * ElastiCache for Valkey (7.2+) and Redis OSS (7.0+) with IAM auth: elasticache tokens signed for
 * the cache name, users with authentication mode iam whose access strings are the levels.
 */
export const valkeyEngine: Engine = {
  name: 'valkey',
  title: 'ElastiCache (Valkey / Redis OSS)',
  registration: {
    fields: VALKEY_FIELDS,
    required: ['cacheName', 'serverless', 'tls'],
    levelFields: VALKEY_LEVEL_FIELDS,
    requiredLevelFields: ['accessString'],
    defaults: { port: 6379, serverless: false, tls: 'verify-full' },
    problems: cacheRegistrationProblems,
  },
  tokenTarget: (db, dbUser) => elastiCacheTarget(cacheSettings(db).cacheName, dbUser, cacheSettings(db).serverless),
  grant: {
    schema: {
      cacheName: Type.String({ description: 'The cache the token is for (ElastiCache)' }),
      tls: Type.Enum(['require', 'verify-full'], { description: 'ElastiCache requires TLS for IAM auth; require: the certificate is not checked (ElastiCache)' }),
    },
    fields: (db) => ({ cacheName: cacheSettings(db).cacheName, tls: cacheSettings(db).tls }),
  },
  bootstrap: (db) => elastiCacheBootstrap(db),
  connectPermission: elastiCacheConnectPermission,
  login: valkeyLogin,
  clientFormats: VALKEY_CLIENT_FORMATS,
};
