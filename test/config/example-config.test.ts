import t from 'tap';
import { loadConfig } from '../../src/config/load-config.js';

t.test('deploy/config.example.yaml is a valid configuration (docs match the code)', async (t) => {
  const config = loadConfig({
    DAB_CONFIG: new URL('../../deploy/config.example.yaml', import.meta.url).pathname,
    DAB_AUDIT_FINGERPRINT_KEY: 'ab'.repeat(32),
  });
  t.equal(config.auth.issuers.length, 2);
  t.equal(config.store.migrateOnStart, false);
  t.equal(config.listen.trustProxy, true);
  t.match(config.auth.aws, { serverId: 'dab.prod.example.com', tiers: ['caller'], regions: ['eu-west-1'] });
  t.match(config.notify.webhooks, [{ name: 'security-events', format: 'json' }, { name: 'dba-channel', format: 'slack' }]);
});
