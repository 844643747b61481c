import t from 'tap';
import { formatMyAccess } from '../../src/cli/access-command.js';
import { formatExplanation } from '../../src/cli/admin-explain-command.js';
import { formatPlan, formatPrincipal, formatTable, orderDocument, toYaml, type PlanResult } from '../../src/cli/admin-format.js';
import { parseAccessFile } from '../../src/cli/admin-yaml.js';

const IDP = 'https://idp';

t.test('principals', async (t) => {
  t.equal(formatPrincipal({ issuer: IDP, subject: 'alice' }), 'subject alice@https://idp');
  t.equal(formatPrincipal({ issuer: IDP, group: 'dba' }), 'group dba@https://idp');
  t.equal(formatPrincipal({ issuer: IDP, claim: { name: 'department', value: 'payments' } }), 'claim department=payments@https://idp');
  t.equal(formatPrincipal({ issuer: 'aws', aws: 'arn:aws:iam::222222222222:role/app' }), 'aws arn:aws:iam::222222222222:role/app');
  t.equal(formatPrincipal({ issuer: 'aws', awsAccount: '222222222222' }), 'aws account 222222222222');
});

t.test('a plan: changes, gains and losses (active ones marked), one summary line', async (t) => {
  const plan: PlanResult = {
    dryRun: true,
    changes: [
      { kind: 'mapping', name: 'payments-ro', action: 'create' },
      { kind: 'database', name: 'orders-prod', action: 'update' },
      { kind: 'mapping', name: 'old-thing', action: 'delete' },
    ],
    unchanged: 5,
    impact: {
      principalsCompared: 12,
      auditWindowDays: 30,
      gains: [{ principal: { issuer: IDP, subject: 'alice' }, seenInAuditLog: true, database: 'orders-prod', level: 'rw' }],
      losses: [{ principal: { issuer: IDP, group: 'dba' }, seenInAuditLog: false, database: 'billing', level: 'ro' }],
    },
  };
  t.equal(
    formatPlan(plan),
    [
      '+ create mapping payments-ro',
      '~ update database orders-prod',
      '- delete mapping old-thing',
      '',
      '+ subject alice@https://idp gains rw on orders-prod (active: seen in the audit log in the last 30 days)',
      '- group dba@https://idp loses ro on billing',
      '',
      '1 to create, 1 to update, 1 to delete, 5 unchanged; 1 gain, 1 loss across 12 principals (dry run: nothing changed)',
    ].join('\n'),
  );
  const applied = formatPlan({ ...plan, dryRun: false, changes: [], impact: { ...plan.impact, gains: [], losses: [], principalsCompared: 1 } });
  t.equal(applied, '0 created, 0 updated, 0 deleted, 5 unchanged; 0 gains, 0 losses across 1 principal');
});

t.test('YAML output: stable key order, header, round-trips through the parser', async (t) => {
  const exported = {
    mappings: [
      { levels: ['ro'], principal: { subject: 'alice', issuer: IDP }, name: 'b', expiresAt: '2030-01-01T00:00:00.000Z', database: 'orders' },
      { selector: { team: 'x', env: '1' }, name: 'a', principal: { claim: { value: 'v', name: 'n' }, issuer: IDP }, levels: ['ro', 'rw'], description: 'a long description '.repeat(10).trim() },
    ],
    databases: [{ levels: { rw: { roleArn: 'arn:x', dbUser: 'u_rw' }, ro: { dbUser: 'u_ro' } }, port: 5432, name: 'orders', host: 'h', zeta: true }],
  };
  const text = toYaml(orderDocument(exported), { header: 'exported\nby a test', sections: true });
  t.equal(text.split('\n')[0], '# exported');
  t.match(text, /^databases:\n {2}- name: orders\n {4}host: h\n {4}port: 5432\n {4}levels:\n {6}ro:\n {8}dbUser: u_ro\n {6}rw:\n {8}dbUser: u_rw\n {8}roleArn: arn:x\n {4}zeta: true\n\nmappings:\n {2}- name: b\n {4}principal:\n {6}issuer: https:\/\/idp\n {6}subject: alice\n {4}database: orders\n {4}levels: \[ro\]\n {4}expiresAt: 2030-01-01T00:00:00.000Z\n\n {2}- name: a\n {4}description: a long/m);
  t.match(text, /selector:\n {6}env: "1"\n {6}team: x\n/, 'labels sorted; numbers-as-text quoted');
  t.notMatch(text, /description: [^\n]*\n {6}/, 'long strings are not folded');
  const back = parseAccessFile(text, 'x.yaml').document;
  t.same(back, orderDocument(exported));
});

t.test('tables', async (t) => {
  t.equal(formatTable(['A', 'LONGER'], [['xxx', 'y'], ['z', '']]), 'A    LONGER\nxxx  y\nz');
});

t.test('explanations', async (t) => {
  const considered = [
    { id: '1', name: 'alice-rw', verdict: 'grants', principal: { issuer: IDP, subject: 'alice' }, database: 'orders', levels: ['rw'], requireReason: true },
    { id: '2', name: 'prod-ro', verdict: 'other_levels', principal: { issuer: IDP, group: 'eng' }, selector: { env: 'prod' }, levels: ['ro'], expiresAt: '2030-01-01T00:00:00.000Z' },
  ];
  const allowed = formatExplanation({ at: '2025-01-01T00:00:00.000Z', allowed: true, reason: 'mapping_allows', rule: { id: '1', name: 'alice-rw' }, dbUser: 'orders_rw', roleArn: 'arn:r', considered }, 'rw', 'orders');
  t.equal(
    allowed,
    [
      'allowed by mapping alice-rw: rw on orders as DB user orders_rw via arn:r',
      'decided at 2025-01-01T00:00:00.000Z',
      '',
      'considered (most specific first):',
      '  VERDICT       MAPPING   PRINCIPAL                  DATABASE    LEVELS  CONDITIONS',
      '  grants        alice-rw  subject alice@https://idp  orders      rw      reason required',
      '  other_levels  prod-ro   group eng@https://idp      {env=prod}  ro      until 2030-01-01T00:00:00.000Z',
    ].join('\n'),
  );
  const denied = formatExplanation({ at: 'now', allowed: false, reason: 'no_mapping', rule: null, considered: [] }, 'ro', 'orders');
  t.equal(denied, 'denied: no_mapping: no mapping names this caller for this database\ndecided at now\n\nno mapping names this caller and applies to this database');
  const reason = formatExplanation({ at: 'now', allowed: false, reason: 'reason_required', rule: { id: '1', name: 'alice-rw' }, considered }, 'rw', 'orders');
  t.match(reason, /^denied: reason_required \(mapping alice-rw\): the mapping requires a reason \(pass --reason\)\n/);
});

t.test('my access', async (t) => {
  t.equal(formatMyAccess({ at: 'now', items: [] }), 'You have no database access: ask a DBA for a mapping.');
  t.equal(
    formatMyAccess({ at: 'now', items: [{ database: 'orders', level: 'ro', mapping: 'm', requireReason: false }, { database: 'orders', level: 'rw', mapping: 'm2', requireReason: true, expiresAt: '2030-01-01T00:00:00Z' }] }),
    'DATABASE  LEVEL  VIA MAPPING  REASON REQUIRED  EXPIRES\norders    ro     m            no               never\norders    rw     m2           yes              2030-01-01T00:00:00Z',
  );
});
