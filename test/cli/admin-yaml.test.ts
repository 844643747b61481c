import t from 'tap';
import { friendlier } from '../../src/cli/admin-hints.js';
import { AccessFileError, fieldSegments, formatPath, formatProblem, parseAccessFile, placeServerProblems, type FileProblem } from '../../src/cli/admin-yaml.js';

const DOC = `# access for the payments team
databases:
  - name: orders-prod
    host: orders.cluster-abc123.us-east-1.rds.amazonaws.com
    port: 5432
    region: us-east-1
    dbname: orders
    roleArn: arn:aws:iam::123456789012:role/orders-dab
    sslmode: verify-full
    labels:
      env: prod
      app.kubernetes.io/team: payments
    levels:
      ro: { dbUser: orders_ro }
      rw:
        dbUser: orders_rw

mappings:
  - name: payments-ro
    principal: { issuer: https://idp, group: payments }
    selector:
      env: prod
    levels: [ro]
    notBefore: 2025-01-01T00:00:00Z
    expiresAt: 2030-01-01T00:00:00.000Z
  - name: alice-rw
    principal:
      issuer: https://idp
      subject: alice
    database: orders-prod
    levels: [rw]
    requireReason: yes
`;

const problemsOf = (text: string, file = 'access.yaml'): FileProblem[] => {
  try {
    parseAccessFile(text, file);
  } catch (err) {
    if (err instanceof AccessFileError) return err.problems;
    throw err;
  }
  throw new Error('expected AccessFileError');
};
const lines = (text: string) => problemsOf(text).map((p) => formatProblem('access.yaml', p));

t.test('a valid document parses; timestamps stay ISO strings, yes stays a string', async (t) => {
  const { document } = parseAccessFile(DOC, 'access.yaml');
  t.equal(document.databases?.length, 1);
  t.same(document.databases?.[0]?.labels, { env: 'prod', 'app.kubernetes.io/team': 'payments' });
  t.equal(document.mappings?.[0]?.notBefore, '2025-01-01T00:00:00Z');
  t.equal(document.mappings?.[0]?.expiresAt, '2030-01-01T00:00:00.000Z');
  t.equal(typeof document.mappings?.[0]?.notBefore, 'string');
  t.equal(document.mappings?.[1]?.requireReason, 'yes', 'YAML 1.2: yes is not a boolean; dab says so with a line');
  t.same(parseAccessFile('mappings: []\n', 'a.yaml').document, { mappings: [] });
});

t.test('merge keys share settings between databases', async (t) => {
  const { document } = parseAccessFile(
    `databases:\n  - &base\n    name: a\n    region: eu-west-1\n  - <<: *base\n    name: b\n`,
    'a.yaml',
  );
  t.same(document.databases, [{ name: 'a', region: 'eu-west-1' }, { name: 'b', region: 'eu-west-1' }]);
});

t.test('YAML syntax errors carry line and column', async (t) => {
  const out = lines('mappings:\n  - name: x\n    levels: [ro\n  - name: y\n');
  t.ok(out.length >= 1);
  t.match(out[0], /^access\.yaml:\d+:\d+: /);
  const tab = lines('mappings:\n\t- name: x\n');
  t.match(tab[0], /^access\.yaml:2:1: /);
});

t.test('duplicate keys are errors with the line of the second one', async (t) => {
  const out = lines('mappings:\n  - name: x\n    levels: [ro]\n    levels: [rw]\n');
  t.same(out, ['access.yaml:4:5: duplicate key "levels": each key may appear only once per mapping']);
  t.same(lines('mappings: []\nmappings: []\n'), ['access.yaml:2:1: duplicate key "mappings": each key may appear only once per mapping']);
});

t.test('unknown top-level keys point at their line', async (t) => {
  t.same(lines('databases: []\nmapings: []\nowner: me\n'), [
    'access.yaml:2:1: unknown top-level key "mapings": only databases: and mappings: are allowed (did you mean mappings:?)',
    'access.yaml:3:1: unknown top-level key "owner": only databases: and mappings: are allowed',
  ]);
});

t.test('duplicate names name both lines', async (t) => {
  const out = lines('mappings:\n  - name: a\n    levels: [ro]\n  - name: b\n  - name: a\ndatabases:\n  - name: a\n  - name: a\n');
  t.same(out, [
    'access.yaml:5:11: mappings[2].name: duplicate mapping name "a": also declared at line 2 (mappings[0]); names must be unique',
    'access.yaml:8:11: databases[1].name: duplicate database name "a": also declared at line 7 (databases[0]); names must be unique',
  ]);
});

t.test('shape problems: empty file, not a map, sections not lists, items not maps', async (t) => {
  for (const empty of ['', '# only a comment\n', '---\n']) t.match(lines(empty), [/^access\.yaml: is empty/]);
  t.same(lines('- a\n- b\n'), ['access.yaml:1:1: must be a mapping with the keys databases: and mappings:']);
  t.same(lines('mappings:\n  name: x\n'), ['access.yaml:2:3: mappings: must be a list of mappings (each item starting with "- name: …")']);
  t.same(lines('databases:\n  - just-a-name\n'), ['access.yaml:2:5: databases[0]: each item must be a database (keys and values), not a scalar']);
  t.same(parseAccessFile('databases:\nmappings:\n', 'a.yaml').document, { databases: null, mappings: null }, 'empty sections are left to dab');
});

t.test('locate: nearest existing node; keys with dots; list items', async (t) => {
  const access = parseAccessFile(DOC, 'access.yaml');
  t.same(access.locate(['mappings', 0, 'selector']), { line: 21, col: 5 });
  t.same(access.locate(['mappings', 0, 'selector', 'env']), { line: 22, col: 7 });
  t.same(access.locate(['mappings', 1]), { line: 26, col: 5 });
  t.same(access.locate(['mappings', 1, 'principal', 'subject']), { line: 29, col: 7 });
  t.same(access.locate(['mappings', 1, 'owner']), { line: 26, col: 5 }, 'a missing key: its mapping');
  t.same(access.locate(['mappings', 9, 'levels']), { line: 18, col: 1 }, 'a missing item: the list');
  t.same(access.locate(['databases', 0, 'labels', 'app', 'kubernetes', 'io/team']), { line: 12, col: 7 }, 'label keys with dots');
  t.same(access.locate(['databases', 0, 'levels', 'rw', 'dbUser']), { line: 16, col: 9 });
  t.same(access.locate(['databases', 0, 'levels', 'ro', 'dbUser']), { line: 14, col: 13 }, 'flow maps too');
  t.equal(access.locate(['nothing']), undefined);
});

t.test('field paths: JSON pointer escapes, numbers, formatting', async (t) => {
  t.same(fieldSegments('body.document.mappings.2.selector.a~1b'), ['body', 'document', 'mappings', 2, 'selector', 'a/b']);
  t.equal(formatPath(['mappings', 2, 'selector']), 'mappings[2].selector');
  t.equal(formatProblem('f.yaml', { message: 'm' }), 'f.yaml: m');
  t.equal(formatProblem('f.yaml', { line: 3, col: 4, path: 'mappings[0]', message: 'm' }), 'f.yaml:3:4: mappings[0]: m');
});

t.test("dab's field errors are placed in the file, sorted, de-duplicated", async (t) => {
  const access = parseAccessFile(DOC, 'access.yaml');
  const rebase = (s: Array<string | number>) => (s[0] === 'document' ? s.slice(1) : undefined);
  const placed = placeServerProblems(
    access,
    [
      { field: 'body.document.mappings.1.requireReason', message: 'must be boolean' },
      { field: 'body.document.mappings.0.selector.env', message: 'must match pattern' },
      { field: 'body.document.mappings.0.selector.env', message: 'must match pattern' },
      { field: 'body.document.databases.0.levels.rw.dbUser', message: 'is the same DB user as level ro' },
      { field: 'body.document.mappings.1.bogus', message: 'must NOT have additional properties' },
      { field: 'body.prune', message: 'must be boolean' },
    ],
    rebase,
  );
  t.same(
    placed.map((p) => formatProblem('access.yaml', p)),
    [
      'access.yaml:16:9: databases[0].levels.rw.dbUser: is the same DB user as level ro',
      'access.yaml:22:7: mappings[0].selector.env: label values: at most 63 letters, digits, ., _ and -, starting and ending with a letter or digit',
      'access.yaml:26:5: mappings[1].bogus: unknown key "bogus" (a mapping has: name, principal, database, selector, levels, notBefore, expiresAt, requireReason, description, owner)',
      'access.yaml:32:5: mappings[1].requireReason: must be boolean',
      'access.yaml: body.prune: must be boolean',
    ],
  );
});

t.test("dab's schema wording made specific", async (t) => {
  t.equal(friendlier(['databases', 0, 'region'], 'must match pattern "^x$"'), 'must be an AWS region, e.g. eu-west-1');
  t.equal(friendlier(['databases', 0, 'levels', 'ro', 'dbUser'], 'must match pattern "^x$"'), "must be a DB user name of the database's engine (PostgreSQL: a-z, 0-9, _ and $, starting with a letter or _, not pg_; MySQL: at most 32 characters)");
  t.equal(friendlier(['mappings', 0, 'odd'], 'must match pattern "^x$"'), 'must match pattern "^x$"', 'unknown fields keep the original');
  t.equal(friendlier(['databases', 1, 'colour'], 'must NOT have additional properties'), 'unknown key "colour" (a database has: name, engine, host, port, region, dbname, roleArn, externalId, sslmode, description, labels, resourceId, levels)');
  t.equal(friendlier(['mappings', 1, 'principal', 'team'], 'must NOT have additional properties'), 'unknown key "team": a principal is issuer plus one of subject, group or claim {name, value}');
  t.equal(friendlier(['mappings', 1, 'principal'], 'must match a schema in anyOf'), 'must be issuer plus exactly one of subject, group or claim {name, value}');
  t.equal(friendlier(['mappings', 1, 'expiresAt'], 'must match format "date-time"'), 'must be an ISO 8601 instant with a time zone, e.g. 2025-07-01T09:00:00Z');
  t.equal(friendlier(['mappings', 1, 'levels'], 'must NOT have fewer than 1 items'), 'must NOT have fewer than 1 items');
});
