import type { Database } from '../../databases/database-schema.js';
import { shellQuote } from '../client-format-helpers.js';
import type { EngineBootstrap } from '../engine.js';
import { accessStringOf, cacheSettings } from './cache-fields.js';

// The cache side of an ElastiCache registration, as AWS CLI commands a DBA runs once: one user per
// level (authentication mode iam, user id = user name, the level's access string), a disabled
// "default" user (every user group must hold one), the user group, and attaching it to the cache.
// Re-running converges: a user that exists gets its access string set instead.

export function elastiCacheBootstrap(db: Database): EngineBootstrap {
  const { cacheName, serverless } = cacheSettings(db);
  const aws = (args: string) => `aws elasticache ${args} --region ${db.region}`;
  const group = `${cacheName}-dab`;
  const defaultUser = `${cacheName}-dab-default`;
  const levels = Object.entries(db.levels).filter((e): e is [string, NonNullable<(typeof e)[1]>] => e[1] !== undefined);
  const lines = [
    `# ElastiCache users for "${db.name}" (cache ${cacheName}${serverless ? ', serverless' : ''}): IAM auth, user id = user name.`,
    '# For a Redis OSS cache, use --engine redis instead of --engine valkey.',
    ...levels.map(([level, spec]) => {
      const access = shellQuote(accessStringOf(db, level));
      return `${aws(`create-user --engine valkey --user-id ${spec.dbUser} --user-name ${spec.dbUser} --authentication-mode Type=iam --access-string ${access}`)} \\\n  || ${aws(`modify-user --user-id ${spec.dbUser} --access-string ${access}`)}`;
    }),
    '# Every user group needs a user named "default"; this one can never log in.',
    `${aws(`create-user --engine valkey --user-id ${defaultUser} --user-name default --authentication-mode Type=no-password-required --access-string 'off -@all'`)} || true`,
    `${aws(`create-user-group --engine valkey --user-group-id ${group} --user-ids ${[defaultUser, ...levels.map(([, s]) => s.dbUser)].join(' ')}`)} \\\n  || ${aws(`modify-user-group --user-group-id ${group} --user-ids-to-add ${levels.map(([, s]) => s.dbUser).join(' ')}`)}`,
    serverless
      ? aws(`modify-serverless-cache --serverless-cache-name ${cacheName} --user-group-id ${group}`)
      : aws(`modify-replication-group --replication-group-id ${cacheName} --user-group-ids-to-add ${group} --apply-immediately`),
  ];
  const warnings = cacheSettings(db).tls === 'require' ? ['tls is require: dab and the printed clients do not check the cache certificate; register tls verify-full once dab trusts the endpoint\'s CA'] : [];
  return { commands: `${lines.join('\n')}\n`, warnings };
}
