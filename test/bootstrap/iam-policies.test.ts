import t from 'tap';
import {
  POLICY_LIMITS, dbUserArn, parseRoleArn, permissionPolicy, permissionSizeWarnings, policySize, rolePolicies, trustPolicy, trustSizeWarnings,
} from '../../src/bootstrap/iam-policies.js';
import { rdsDbConnectPermission } from '../../src/engines/rds-db/rds-db-policy.js';

const BROKER = 'arn:aws:iam::999988887777:role/dab-broker';
const RO = 'arn:aws:iam::111122223333:role/orders-ro';
const DB_ROLE = 'arn:aws:iam::111122223333:role/db/orders-dab';
const base = {
  region: 'eu-west-1',
  roleArn: DB_ROLE,
  externalId: 'ext-orders-1',
  resourceId: 'db-ABCDEFGHIJKL0123456789',
  levels: { ro: { dbUser: 'orders_ro', roleArn: RO }, rw: { dbUser: 'orders_rw' }, monitor: { dbUser: 'orders_monitor' } },
};

t.test('role ARN parts and the rds-db:connect resource', async (t) => {
  t.same(parseRoleArn('arn:aws-cn:iam::123456789012:role/path/to/name'), { partition: 'aws-cn', account: '123456789012', name: 'name' });
  t.equal(dbUserArn('aws', 'eu-west-1', '111122223333', 'db-ABC', 'orders_ro'), 'arn:aws:rds-db:eu-west-1:111122223333:dbuser:db-ABC/orders_ro');
});

t.test('one entry per distinct role, with exactly its levels\' DB users', async (t) => {
  const { roles, warnings } = rolePolicies(base, { brokerRoleArn: BROKER, setSourceIdentity: true }, rdsDbConnectPermission);
  t.same(warnings, [], 'nothing to replace');
  t.same(roles.map((r) => [r.roleArn, r.levels]), [[RO, ['ro']], [DB_ROLE, ['rw', 'monitor']]]);
  const [ro, shared] = roles;
  t.same(ro!.permissionPolicy, {
    Version: '2012-10-17',
    Statement: [{ Sid: 'DabRdsConnect', Effect: 'Allow', Action: 'rds-db:connect', Resource: ['arn:aws:rds-db:eu-west-1:111122223333:dbuser:db-ABCDEFGHIJKL0123456789/orders_ro'] }],
  });
  t.same(shared!.permissionPolicy.Statement[0]!.Resource, [
    'arn:aws:rds-db:eu-west-1:111122223333:dbuser:db-ABCDEFGHIJKL0123456789/orders_rw',
    'arn:aws:rds-db:eu-west-1:111122223333:dbuser:db-ABCDEFGHIJKL0123456789/orders_monitor',
  ]);
  t.same(ro!.trustPolicy, {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'DabAssumeRole', Effect: 'Allow', Principal: { AWS: BROKER }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'ext-orders-1' } } },
      { Sid: 'DabSetSourceIdentity', Effect: 'Allow', Principal: { AWS: BROKER }, Action: 'sts:SetSourceIdentity' },
    ],
  });
  t.same(ro!.warnings, []);
  t.match(shared!.warnings, [/serves levels rw, monitor: .*give each level its own roleArn/]);
  t.equal(ro!.sizes.trustPolicy, JSON.stringify(ro!.trustPolicy).length, 'compact JSON: nothing to strip');
  t.equal(ro!.sizes.permissionPolicy, policySize(ro!.permissionPolicy));
});

t.test('partition and account come from the role ARN', async (t) => {
  for (const [partition, region] of [['aws-cn', 'cn-north-1'], ['aws-us-gov', 'us-gov-west-1']] as const) {
    const role = `arn:${partition}:iam::444455556666:role/orders`;
    const { roles } = rolePolicies({ ...base, region, roleArn: role, levels: { ro: { dbUser: 'orders_ro' } } }, { brokerRoleArn: `arn:${partition}:iam::999988887777:role/dab`, setSourceIdentity: true }, rdsDbConnectPermission);
    t.same(roles[0]!.permissionPolicy.Statement[0]!.Resource, [`arn:${partition}:rds-db:${region}:444455556666:dbuser:db-ABCDEFGHIJKL0123456789/orders_ro`], partition);
    t.same(roles[0]!.warnings, []);
  }
  const { roles } = rolePolicies({ ...base, region: 'cn-north-1', roleArn: 'arn:aws-cn:iam::444455556666:role/o', levels: { ro: { dbUser: 'r' } } }, { brokerRoleArn: BROKER, setSourceIdentity: true }, rdsDbConnectPermission);
  t.match(roles[0]!.warnings, [/another partition/], 'a broker in aws cannot assume a role in aws-cn');
});

t.test('placeholders, each with a warning that says how to fill it', async (t) => {
  const { externalId: _e, resourceId: _r, ...bare } = base;
  const { roles, warnings } = rolePolicies(bare, { setSourceIdentity: true }, rdsDbConnectPermission);
  t.equal(roles[0]!.trustPolicy.Statement[0]!.Principal?.AWS, 'arn:aws:iam::BROKER_ACCOUNT_ID:role/BROKER_ROLE_NAME');
  t.match(roles[0]!.permissionPolicy.Statement[0]!.Resource, [/:dbuser:RESOURCE_ID\/orders_ro$/]);
  t.notOk(roles[0]!.trustPolicy.Statement[0]!.Condition, 'no ExternalId registered: no condition');
  t.match(warnings, [
    /sts\.brokerRoleArn is not configured.*DAB_BROKER_ROLE_ARN/,
    /set resourceId \(aws rds describe-db-instances --query 'DBInstances\[\]\.DbiResourceId'/,
    /no externalId is registered/,
  ]);
  const cn = rolePolicies({ ...bare, region: 'cn-north-1', roleArn: 'arn:aws-cn:iam::444455556666:role/o', levels: { ro: { dbUser: 'r' } } }, { setSourceIdentity: true }, rdsDbConnectPermission);
  t.equal(cn.roles[0]!.trustPolicy.Statement[0]!.Principal?.AWS, 'arn:aws-cn:iam::BROKER_ACCOUNT_ID:role/BROKER_ROLE_NAME', 'placeholder in the right partition');
});

t.test('without SourceIdentity the trust policy has no SetSourceIdentity statement', async (t) => {
  t.same(trustPolicy(BROKER, undefined, false).Statement.map((s) => s.Action), ['sts:AssumeRole']);
});

t.test('sizes as IAM counts them, and warnings past its limits', async (t) => {
  t.equal(policySize(JSON.parse('{"Version": "2012-10-17",\n  "Statement": []}')), '{"Version":"2012-10-17","Statement":[]}'.length, 'whitespace does not count');

  // The longest ExternalId STS accepts and a broker role with a deep path: over the default quota.
  const deepBroker = `arn:aws:iam::999988887777:role/${'platform/'.repeat(50)}dab`;
  const { roles } = rolePolicies({ ...base, externalId: 'e'.repeat(1224), levels: { ro: base.levels.ro } }, { brokerRoleArn: deepBroker, setSourceIdentity: true }, rdsDbConnectPermission);
  const size = roles[0]!.sizes.trustPolicy;
  t.ok(size > POLICY_LIMITS.trustDefault && size <= POLICY_LIMITS.trustMax, `${size} is between the default quota and the maximum`);
  t.match(roles[0]!.warnings, [/trust policy is [\d,]+ characters .*over IAM's default quota of 2,048 .*quota increase \(up to 4,096\)/]);
  t.match(trustSizeWarnings(4097), [/over IAM's hard maximum of 4,096/]);
  t.same(trustSizeWarnings(2048), [], 'the limit itself is fine');

  const many = permissionPolicy(Array.from({ length: 80 }, (_, i) => dbUserArn('aws', 'eu-west-1', '111122223333', 'db-ABCDEFGHIJKL0123456789', `user_${i}`)));
  const manySize = policySize(many);
  t.ok(manySize > POLICY_LIMITS.managed && manySize <= POLICY_LIMITS.inline, `${manySize}`);
  t.match(permissionSizeWarnings(manySize), [/over IAM's 6,144 limit for managed policies; attach it as an inline policy/]);
  t.match(permissionSizeWarnings(10241), [/over IAM's 10,240 limit for inline role policies/]);
  t.same(permissionSizeWarnings(6144), []);
});
