import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load-config.js';

const ISSUER = 'https://idp.example.com';
const KEY = randomBytes(32).toString('hex');
const minimal = () => ({ auth: { issuers: [{ issuer: ISSUER, audience: 'dab' }] }, audit: { fingerprintKey: KEY } });
const ENV_MINIMAL = { DAB_ISSUERS: JSON.stringify([{ issuer: ISSUER, audience: 'dab' }]), DAB_AUDIT_FINGERPRINT_KEY: KEY };

t.test('parseConfig fills in defaults', async (t) => {
  const input = minimal();
  const config = parseConfig(input);
  t.same(config.listen, {
    host: '127.0.0.1',
    port: 8080,
    trustProxy: false,
    headersTimeoutMs: 10000,
    requestTimeoutMs: 30000,
    idleTimeoutMs: 60000,
    keepAliveTimeoutMs: 72000,
    maxConnections: 10000,
    maxRequestsPerSocket: 0,
  });
  t.equal(config.logLevel, 'info');
  t.match(config.store, { dataDir: '.dab-data', poolMax: 10, connectionTimeoutMs: 5000, statementTimeoutMs: 5000 });
  t.notOk('url' in config.store, 'no store.url: the embedded store');
  t.match(config.sts, {
    region: 'us-east-1', sessionDurationSeconds: 3600, refreshMarginSeconds: 300, connectionTimeoutMs: 1000,
    requestTimeoutMs: 3000, maxAttempts: 3, deadlineMs: 8000, sessionNamePrefix: 'dab', setSourceIdentity: true, maxCachedSessions: 10000,
  });
  t.notOk('endpoint' in config.sts, 'no STS endpoint: the SDK default');
  t.same(config.auth.issuers[0], { issuer: ISSUER, audience: 'dab', algorithms: ['RS256'], subjectClaim: 'sub', groupsClaim: 'groups', maxTokenLifetimeSeconds: 86400 });
  t.match(config.auth, { clockToleranceSeconds: 30, jwksCooldownSeconds: 30, jwksCacheMaxAgeSeconds: 600, jwksTimeoutMs: 3000, admins: [], auditors: [] });
  t.same(input, minimal(), 'the input object is not modified');
});

t.test('the result is deeply frozen', async (t) => {
  const config = parseConfig({ ...minimal(), auth: { issuers: [{ issuer: ISSUER, audience: ['dab', 'cli'] }], admins: [{ issuer: ISSUER, group: 'dba' }] } });
  const nodes: Array<[string, unknown]> = [
    ['config', config], ['listen', config.listen], ['store', config.store], ['sts', config.sts], ['audit', config.audit],
    ['auth', config.auth], ['auth.issuers', config.auth.issuers], ['auth.issuers[0]', config.auth.issuers[0]],
    ['auth.issuers[0].audience', config.auth.issuers[0]!.audience], ['auth.issuers[0].algorithms', config.auth.issuers[0]!.algorithms],
    ['auth.admins[0]', config.auth.admins[0]],
  ];
  for (const [name, node] of nodes) t.ok(Object.isFrozen(node), `${name} is frozen`);
  t.throws(() => ((config.listen as { port: number }).port = 1), TypeError, 'assignment throws');
  t.throws(() => (config.auth.issuers as unknown[]).push({}), TypeError, 'arrays cannot grow');
  t.equal(config.listen.port, 8080);
});

t.test('loadConfig: environment variables override', async (t) => {
  const config = loadConfig({
    ...ENV_MINIMAL,
    DAB_PORT: '9443',
    DAB_HOST: '0.0.0.0',
    DATABASE_URL: 'postgres://dab@db.internal:5432/dab',
    AWS_REGION: 'eu-west-1',
    AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:4566',
    DAB_LOG_LEVEL: 'warn',
    DAB_TRUST_PROXY: 'true',
    DAB_ADMINS: JSON.stringify([{ issuer: ISSUER, subject: 'dba' }]),
    DAB_DATA_DIR: '',
    UNRELATED: 'ignored',
  });
  t.match(config, {
    listen: { host: '0.0.0.0', port: 9443, trustProxy: true },
    logLevel: 'warn',
    store: { url: 'postgres://dab@db.internal:5432/dab', dataDir: '.dab-data' },
    sts: { region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' },
    auth: { issuers: [{ issuer: ISSUER, audience: 'dab' }], admins: [{ issuer: ISSUER, subject: 'dba' }] },
    audit: { fingerprintKey: KEY },
  });
  t.ok(Object.isFrozen(config.sts), 'loadConfig freezes too');
});

t.test('loadConfig reads a YAML or JSON file named by DAB_CONFIG; env wins over the file', async (t) => {
  const base64Key = randomBytes(48).toString('base64');
  const dir = t.testdir({
    'dab.yaml': [
      'listen:', '  port: 9090', 'logLevel: debug', 'auth:', '  issuers:', `    - issuer: ${ISSUER}`, '      audience: [dab, dab-cli]',
      '      algorithms: [ES256]', '  admins:', `    - { issuer: "${ISSUER}", group: dba }`, 'sts:', '  sessionDurationSeconds: 7200',
      'audit:', `  fingerprintKey: "${base64Key}"`, '',
    ].join('\n'),
    'dab.json': JSON.stringify({ ...minimal(), store: { url: 'postgresql://x@y/z' }, sts: { region: 'ap-southeast-2' } }),
  });
  const yaml = loadConfig({ DAB_CONFIG: join(dir, 'dab.yaml') });
  t.match(yaml, {
    listen: { port: 9090, host: '127.0.0.1' }, logLevel: 'debug',
    auth: { issuers: [{ issuer: ISSUER, audience: ['dab', 'dab-cli'], algorithms: ['ES256'] }], admins: [{ issuer: ISSUER, group: 'dba' }] },
    sts: { sessionDurationSeconds: 7200, region: 'us-east-1' }, audit: { fingerprintKey: base64Key },
  });
  t.equal(loadConfig({ DAB_CONFIG: join(dir, 'dab.yaml'), DAB_PORT: '7070' }).listen.port, 7070, 'DAB_PORT beats the file');

  const json = loadConfig({ DAB_CONFIG: join(dir, 'dab.json'), AWS_REGION: 'eu-central-1' });
  t.match(json, { store: { url: 'postgresql://x@y/z' }, sts: { region: 'eu-central-1' }, listen: { port: 8080 } });
});

t.test('a bad config throws a ConfigError naming the setting, without a stack', async (t) => {
  const dir = t.testdir({
    'bad.yaml': 'listen:\n  port: [unclosed\n',
    'bad.json': '{"listen": ',
    'list.yaml': '- a\n- b\n',
  });
  const cfg = (patch: (c: Record<string, any>) => void) => () => {
    const c: Record<string, any> = minimal();
    patch(c);
    return parseConfig(c);
  };
  const env = (vars: Record<string, string>) => () => loadConfig({ ...ENV_MINIMAL, ...vars });
  const cases: Array<[name: string, run: () => unknown, names: RegExp]> = [
    ['empty config', () => parseConfig(undefined), /config auth: is required/],
    ['missing auth.issuers', cfg((c) => (c.auth = {})), /auth\.issuers: is required/],
    ['empty auth.issuers', cfg((c) => (c.auth.issuers = [])), /auth\.issuers/],
    ['missing audit.fingerprintKey', cfg((c) => (c.audit = {})), /audit\.fingerprintKey: is required/],
    ['unknown top-level key', cfg((c) => (c.bogus = 1)), /\(top level\).*"bogus"/],
    ['unknown nested key', cfg((c) => (c.listen = { prot: 1 })), /listen.*"prot"/],
    ['listen.port: 70000', cfg((c) => (c.listen = { port: 70000 })), /listen\.port/],
    ['listen.port as a string', cfg((c) => (c.listen = { port: '8080' })), /listen\.port/],
    ['logLevel: loud', cfg((c) => (c.logLevel = 'loud')), /logLevel/],
    ['DAB_PORT=abc', env({ DAB_PORT: 'abc' }), /DAB_PORT/],
    ['DAB_PORT=70000', env({ DAB_PORT: '70000' }), /listen\.port/],
    ['DAB_TRUST_PROXY=yes', env({ DAB_TRUST_PROXY: 'yes' }), /DAB_TRUST_PROXY/],
    ['DAB_ISSUERS not JSON', env({ DAB_ISSUERS: '[{' }), /DAB_ISSUERS/],
    ['fingerprint key too short', env({ DAB_AUDIT_FINGERPRINT_KEY: 'abcd'.repeat(4) }), /audit\.fingerprintKey.*32 bytes/],
    ['fingerprint key neither hex nor base64', env({ DAB_AUDIT_FINGERPRINT_KEY: 'not a key! '.repeat(8) }), /audit\.fingerprintKey.*hex or base64/],
    ['admin rule naming an unconfigured issuer', cfg((c) => (c.auth.admins = [{ issuer: 'https://other.example', subject: 'x' }])), /auth\.admins\[0\]\.issuer/],
    ['auditor rule naming an unconfigured issuer', cfg((c) => (c.auth.auditors = [{ issuer: 'https://other.example', group: 'x' }])), /auth\.auditors\[0\]\.issuer/],
    ['duplicate issuer', cfg((c) => c.auth.issuers.push({ issuer: ISSUER, audience: 'x' })), /auth\.issuers\[1\]\.issuer.*twice/],
    ['issuer without audience', cfg((c) => delete c.auth.issuers[0].audience), /auth\.issuers\[0\]\.audience/],
    ['jwksUrl not http(s)', cfg((c) => (c.auth.issuers[0].jwksUrl = 'file:///etc/passwd')), /auth\.issuers\[0\]\.jwksUrl/],
    ['sts.sessionDurationSeconds: 100', cfg((c) => (c.sts = { sessionDurationSeconds: 100 })), /sts\.sessionDurationSeconds/],
    ['sts margin leaving a session no reuse', cfg((c) => (c.sts = { sessionDurationSeconds: 1800, refreshMarginSeconds: 700 })), /sts\.refreshMarginSeconds.*sts\.sessionDurationSeconds 1800.*200 s/],
    ['sts.sessionNamePrefix with a space', cfg((c) => (c.sts = { sessionNamePrefix: 'd a b' })), /sts\.sessionNamePrefix/],
    ['a webhook event name that does not exist', cfg((c) => (c.notify = { webhooks: [{ name: 'ops', url: 'https://hooks.example/x', events: ['access_request.create'] }] })), /notify\.webhooks\[0\]\.events\[0\]/],
    ['store.url: mysql://...', cfg((c) => (c.store = { url: 'mysql://root:hunter2@db/dab' })), /store\.url/],
    ['DATABASE_URL=mysql://...', env({ DATABASE_URL: 'mysql://root:hunter2@db/dab' }), /store\.url/],
    ['bad YAML', () => loadConfig({ DAB_CONFIG: join(dir, 'bad.yaml') }), /DAB_CONFIG=.*bad\.yaml: not valid YAML/],
    ['bad JSON', () => loadConfig({ DAB_CONFIG: join(dir, 'bad.json') }), /DAB_CONFIG=.*bad\.json: not valid JSON/],
    ['YAML whose top level is a list', () => loadConfig({ DAB_CONFIG: join(dir, 'list.yaml') }), /list\.yaml.*mapping/],
    ['unreadable file', () => loadConfig({ DAB_CONFIG: join(dir, 'missing.yaml') }), /DAB_CONFIG=.*missing\.yaml: cannot be read \(ENOENT\)/],
    ['a directory as the file', () => loadConfig({ DAB_CONFIG: dir }), /DAB_CONFIG=.*cannot be read/],
  ];
  for (const [name, run, names] of cases) {
    let caught: unknown;
    try {
      run();
    } catch (err) {
      caught = err;
    }
    t.type(caught, ConfigError, `${name}: throws ConfigError`);
    const message = (caught as Error | undefined)?.message ?? '';
    t.match(message, names, `${name}: names the setting (${message})`);
    t.notMatch(message, /\n\s*at |\.ts:\d+|\.js:\d+/, `${name}: no stack trace in the message`);
    t.notMatch(message, /hunter2/, `${name}: no secret echoed`);
  }
});

t.test('auth.aws: AWS IAM callers are off unless configured, and the reserved issuer name is refused', async (t) => {
  t.notOk(parseConfig(minimal()).auth.aws, 'off by default');
  const aws = parseConfig({ ...minimal(), auth: { ...minimal().auth, aws: { serverId: 'dab.prod' } } }).auth.aws;
  t.match(aws, { serverId: 'dab.prod', tiers: ['caller'], partition: 'aws', maxProofAgeSeconds: 300, requestTimeoutMs: 3000, maxCachedProofs: 10000 });
  const fromEnv = loadConfig({ ...ENV_MINIMAL, DAB_AWS_SERVER_ID: 'dab.env', DAB_AWS_AUTH_TIERS: '["caller","auditor"]' }).auth.aws;
  t.match(fromEnv, { serverId: 'dab.env', tiers: ['caller', 'auditor'] });

  const refused = (auth: Record<string, unknown>, message: RegExp) => t.throws(() => parseConfig({ ...minimal(), auth: { ...minimal().auth, ...auth } }), { name: 'ConfigError', message });
  refused({ issuers: [{ issuer: 'aws', audience: 'dab' }] }, /auth\.issuers\[0\]\.issuer: "aws" is reserved for AWS IAM callers/);
  refused({ aws: { serverId: 'dab' }, admins: [{ aws: 'arn:aws:iam::123456789012:role/dba' }] }, /auth\.admins\[0\]: names an AWS principal, but auth\.aws\.tiers does not include admin/);
  refused({ auditors: [{ awsAccount: '123456789012' }] }, /auth\.auditors\[0\]: names an AWS principal/);
  refused({ aws: { serverId: 'dab', endpoint: 'http://sts.internal.example' } }, /auth\.aws\.endpoint: http is accepted only for a loopback endpoint/);
  refused({ aws: { serverId: 'has space' } }, /auth\.aws\.serverId/);
  refused({ aws: { serverId: 'dab', regions: ['not a region'] } }, /auth\.aws\.regions/);
  refused({ admins: [{ aws: 'arn:aws:sts::123456789012:assumed-role/x/y' }] }, /auth\.admins/);
  t.ok(parseConfig({ ...minimal(), auth: { ...minimal().auth, aws: { serverId: 'dab', tiers: ['caller', 'admin'] }, admins: [{ aws: 'arn:aws:iam::123456789012:role/dba' }] } }), 'an AWS admin where the admin tier accepts AWS callers');
});
