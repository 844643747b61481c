export { DabProblemError, DabUnreachableError, requestCredentials } from './dab-client.js';
export type { AccessLevel, Credentials, CredentialsRequest } from './dab-client.js';
export { dabPassword, dabPgConfig } from './pg-password.js';
export type { DabPasswordOptions } from './pg-password.js';
export { dabRedisCredentials, dabRedisOptions } from './redis-credentials.js';
export type { DabRedisOptions, RedisBasicAuth, RedisCredentialsProvider } from './redis-credentials.js';
export { dabMysqlConfig } from './mysql-password.js';
