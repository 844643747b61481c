import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema, type Config } from './config-schema.js';
import { TOKEN_LIFETIME_SECONDS } from '../aws/session-cache.js';
import { deriveEventMacKey } from '../audit/event-mac.js';
import { AWS_ISSUER, isAwsRule } from '../auth/aws-principal.js';

/** Start-up stops with this: the message names the setting and never carries a stack. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;
type Tree = Record<string, unknown>;

// Environment variables that override the file. Each names the config path it sets.
const ENV_OVERRIDES: Array<[env: string, path: string, kind: 'string' | 'integer' | 'boolean' | 'json']> = [
  ['DAB_HOST', 'listen.host', 'string'],
  ['DAB_PORT', 'listen.port', 'integer'],
  ['DAB_TRUST_PROXY', 'listen.trustProxy', 'boolean'],
  ['DAB_LOG_LEVEL', 'logLevel', 'string'],
  ['DAB_METRICS_PORT', 'metrics.port', 'integer'],
  ['DATABASE_URL', 'store.url', 'string'],
  ['DAB_DATA_DIR', 'store.dataDir', 'string'],
  ['DAB_STORE_EMBEDDED', 'store.embedded', 'boolean'],
  ['DAB_MIGRATE_ON_START', 'store.migrateOnStart', 'boolean'],
  ['DAB_ISSUERS', 'auth.issuers', 'json'],
  ['DAB_ADMINS', 'auth.admins', 'json'],
  ['DAB_AUDITORS', 'auth.auditors', 'json'],
  ['DAB_AWS_SERVER_ID', 'auth.aws.serverId', 'string'],
  ['DAB_AWS_AUTH_TIERS', 'auth.aws.tiers', 'json'],
  ['DAB_AWS_AUTH_ENDPOINT', 'auth.aws.endpoint', 'string'],
  ['AWS_REGION', 'sts.region', 'string'],
  ['AWS_ENDPOINT_URL_STS', 'sts.endpoint', 'string'],
  ['DAB_BROKER_ROLE_ARN', 'sts.brokerRoleArn', 'string'],
  ['DAB_MINT_BUDGET_ENABLED', 'mintBudget.enabled', 'boolean'],
  ['DAB_MINT_BUDGET_PER_SECOND', 'mintBudget.perSecond', 'integer'],
  ['DAB_MINT_BUDGET_BURST', 'mintBudget.burst', 'integer'],
  ['DAB_AUDIT_FINGERPRINT_KEY', 'audit.fingerprintKey', 'string'],
  ['DAB_AUDIT_EVENT_MAC_KEY', 'audit.eventMacKey', 'string'],
  ['DAB_AUDIT_SEAL_INTERVAL_SECONDS', 'audit.sealIntervalSeconds', 'integer'],
  ['DAB_AUDIT_CHECKPOINT_KEY_FILE', 'audit.checkpointKeyFile', 'string'],
  ['DAB_AUDIT_CHECKPOINT_FILE', 'audit.checkpointFile', 'string'],
  ['DAB_CONSOLE_ENABLED', 'console.enabled', 'boolean'],
  ['DAB_CONSOLE_OIDC', 'console.oidc', 'json'],
];

const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: false, removeAdditional: false, strict: false });
const validate = ajv.compile<Config>(ConfigSchema);
// The store section alone, for commands that only open the store (dab migrate).
const validateStoreOnly = ajv.compile<{ store: Config['store'] }>({
  type: 'object',
  properties: { store: ConfigSchema.properties.store },
  required: ['store'],
  additionalProperties: false,
});

/** Reads the optional file named by DAB_CONFIG (YAML or JSON), applies env overrides, validates, freezes. */
export function loadConfig(env: Env = process.env): Config {
  const fromFile = env.DAB_CONFIG ? readConfigFile(env.DAB_CONFIG) : {};
  return parseConfig(applyEnv(fromFile, env));
}

/**
 * Only the store section, from the same file and the same environment variables as loadConfig:
 * `dab migrate` runs as a deploy job that has the owner's DATABASE_URL and nothing else, so the
 * rest of the file (issuers, keys) is neither needed nor checked.
 */
export function loadStoreConfig(env: Env = process.env): Config['store'] {
  const fromFile = env.DAB_CONFIG ? readConfigFile(env.DAB_CONFIG) : {};
  const tree = applyEnv({ store: fromFile.store ?? {} }, env, 'store.');
  if (!validateStoreOnly(tree)) throw new ConfigError(describe(validateStoreOnly.errors ?? []));
  checkStore(tree.store);
  return deepFreeze(tree.store);
}

/** Validates a config tree (defaults filled in) and returns it deeply frozen. */
export function parseConfig(input: unknown): Config {
  const tree = structuredClone(input ?? {});
  if (!validate(tree)) throw new ConfigError(describe(validate.errors ?? []));
  const config = tree as Config;
  checkStore(config.store);
  eventMacKeyBytes(config.audit);
  checkIssuers(config);
  checkSessionReuse(config.sts);
  if (config.listen.headersTimeoutMs > config.listen.requestTimeoutMs) {
    throw new ConfigError('config listen.headersTimeoutMs: must not exceed listen.requestTimeoutMs (the headers are part of the request)');
  }
  if (config.mintBudget.replicaTtlSeconds < 2 * config.mintBudget.heartbeatSeconds) {
    throw new ConfigError('config mintBudget.replicaTtlSeconds: must be at least twice mintBudget.heartbeatSeconds, or one late heartbeat drops a live replica from the count');
  }
  if (!config.metrics.onPublicPort && config.metrics.port === undefined) {
    throw new ConfigError('config metrics.onPublicPort: false needs metrics.port, or /metrics would be served nowhere');
  }
  if (config.audit.checkpointFile && !config.audit.checkpointKeyFile) {
    throw new ConfigError('config audit.checkpointFile (DAB_AUDIT_CHECKPOINT_FILE): needs audit.checkpointKeyFile too, or there is nothing to write');
  }
  return deepFreeze(config);
}

/** Both choices at once is a contradiction, not an override: refuse rather than guess which was meant. */
function checkStore(store: Config['store']): void {
  if (store.url && store.embedded) {
    throw new ConfigError('config store.embedded (DAB_STORE_EMBEDDED): true, but store.url (DATABASE_URL) is set too; choose one');
  }
}

/** Accepts hex or base64; refuses keys under 32 bytes, because a short HMAC key makes fingerprints guessable. */
export function fingerprintKeyBytes(value: string): Buffer {
  return hmacKeyBytes(value, 'audit.fingerprintKey (DAB_AUDIT_FINGERPRINT_KEY)');
}

/** The event MAC key (src/audit/event-mac.ts): audit.eventMacKey, or one derived from the fingerprint key. */
export function eventMacKeyBytes(audit: { fingerprintKey: string; eventMacKey?: string | undefined }): Buffer {
  const fingerprintKey = fingerprintKeyBytes(audit.fingerprintKey);
  return deriveEventMacKey(fingerprintKey, audit.eventMacKey === undefined ? undefined : hmacKeyBytes(audit.eventMacKey, 'audit.eventMacKey (DAB_AUDIT_EVENT_MAC_KEY)'));
}

function hmacKeyBytes(value: string, field: string): Buffer {
  const hex = /^(?:[0-9a-fA-F]{2})+$/.test(value);
  // Node's base64 decoder skips characters it does not know, so junk must be refused up front.
  const base64 = /^[A-Za-z0-9+/_-]+={0,2}$/.test(value);
  const bytes = hex ? Buffer.from(value, 'hex') : base64 ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  if (bytes.length < 32) {
    throw new ConfigError(`config ${field}: must be at least 32 bytes, hex or base64`);
  }
  return bytes;
}

// A cached session is replaced once less than a token's life plus the margin remains; a session
// that starts out under that line would be re-assumed on every grant, and STS would throttle dab.
const MIN_SESSION_REUSE_SECONDS = 300;

function checkSessionReuse(sts: Config['sts']): void {
  const reusable = sts.sessionDurationSeconds - TOKEN_LIFETIME_SECONDS - sts.refreshMarginSeconds;
  if (reusable < MIN_SESSION_REUSE_SECONDS) {
    throw new ConfigError(
      `config sts.refreshMarginSeconds: with sts.sessionDurationSeconds ${sts.sessionDurationSeconds}, a session could be reused for only ${reusable} s ` +
        `(duration - 900 s token life - margin); at least ${MIN_SESSION_REUSE_SECONDS} s is needed: lower the margin or raise the duration`,
    );
  }
}

const LOOPBACK_HTTP = /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/;

function checkIssuers(config: Config): void {
  const seen = new Set<string>();
  for (const [i, issuer] of config.auth.issuers.entries()) {
    if (seen.has(issuer.issuer)) throw new ConfigError(`config auth.issuers[${i}].issuer: "${issuer.issuer}" is listed twice`);
    // "aws" names AWS IAM callers; an OIDC issuer so named could mint their subjects.
    if (issuer.issuer === AWS_ISSUER) throw new ConfigError(`config auth.issuers[${i}].issuer: "${AWS_ISSUER}" is reserved for AWS IAM callers`);
    seen.add(issuer.issuer);
  }
  const aws = config.auth.aws;
  for (const tier of ['admins', 'auditors'] as const) {
    for (const [i, rule] of config.auth[tier].entries()) {
      if (!isAwsRule(rule)) {
        if (!seen.has(rule.issuer)) throw new ConfigError(`config auth.${tier}[${i}].issuer: "${rule.issuer}" is not a configured issuer`);
      } else if (!aws?.tiers.includes(tier === 'admins' ? 'admin' : 'auditor')) {
        throw new ConfigError(`config auth.${tier}[${i}]: names an AWS principal, but auth.aws.tiers does not include ${tier === 'admins' ? 'admin' : 'auditor'}`);
      }
    }
  }
  if (aws?.endpoint?.startsWith('http:') && !/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\/?$/.test(aws.endpoint)) {
    throw new ConfigError('config auth.aws.endpoint: http is accepted only for a loopback endpoint (sandbox, tests); use https');
  }
  const consoleIssuer = config.console.oidc?.issuer;
  if (consoleIssuer !== undefined) {
    // The console sends the token it gets to dab's API: from an issuer dab does not trust, every call would be a 401.
    if (!seen.has(consoleIssuer)) throw new ConfigError(`config console.oidc.issuer: "${consoleIssuer}" is not one of auth.issuers`);
    if (consoleIssuer.startsWith('http:') && !LOOPBACK_HTTP.test(consoleIssuer)) {
      throw new ConfigError('config console.oidc.issuer: http is accepted only for a loopback issuer (sandbox, tests); use https');
    }
  }
}

function readConfigFile(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file DAB_CONFIG=${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const parsed: unknown = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('top level must be a mapping');
    return parsed as Tree;
  } catch (err) {
    throw new ConfigError(`config file DAB_CONFIG=${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'} (${(err as Error).message.split('\n')[0]})`);
  }
}

function applyEnv(base: Tree, env: Env, onlyUnder = ''): Tree {
  const tree = structuredClone(base);
  for (const [name, path, kind] of ENV_OVERRIDES) {
    if (!path.startsWith(onlyUnder)) continue;
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    setPath(tree, path, parseEnvValue(name, raw, kind));
  }
  return tree;
}

function parseEnvValue(name: string, raw: string, kind: 'string' | 'integer' | 'boolean' | 'json'): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'integer':
      if (!/^\d+$/.test(raw)) throw new ConfigError(`env ${name}: must be a whole number, got "${raw}"`);
      return Number(raw);
    case 'boolean':
      if (raw !== 'true' && raw !== 'false') throw new ConfigError(`env ${name}: must be true or false`);
      return raw === 'true';
    case 'json':
      try {
        return JSON.parse(raw);
      } catch {
        throw new ConfigError(`env ${name}: must be JSON`);
      }
  }
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Tree;
  }
  node[keys[keys.length - 1] as string] = value;
}

function describe(errors: ErrorObject[]): string {
  // Union branches produce noise; keep the most specific line per field.
  const lines = new Map<string, string>();
  for (const e of errors) {
    const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.').replace(/\.(\d+)(?=\.|$)/g, '[$1]') || '(top level)';
    const extra = e.keyword === 'additionalProperties' ? ` "${String(e.params.additionalProperty)}"` : '';
    const target = e.keyword === 'required' ? `${field === '(top level)' ? '' : `${field}.`}${String(e.params.missingProperty)}` : field;
    const message = e.keyword === 'required' ? 'is required' : `${e.message ?? 'is invalid'}${extra}`;
    if (!lines.has(target)) lines.set(target, `config ${target}: ${message}`);
  }
  return [...lines.values()].join('; ');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
