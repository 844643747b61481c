import type { ClientFormat } from './engine.js';
import { MYSQL_CLIENT_FORMATS } from './mysql/client-formats.js';
import { POSTGRES_CLIENT_FORMATS } from './postgres/client-formats.js';
import { VALKEY_CLIENT_FORMATS } from './valkey/client-formats.js';

export interface EngineClientFormats {
  name: string;
  title: string;
  formats: readonly ClientFormat[];
}

/**
 * Each engine's `dab creds` formats, by engine name, without loading the engine modules (their
 * schemas, bootstrap and login checks, database clients): the CLI needs only these, and answers in
 * tens of milliseconds because of it. test/engines/client-format-registry.test.ts holds this list
 * to the registry's engines, so an engine added there and not here fails a test.
 */
export const ENGINE_CLIENT_FORMATS: readonly EngineClientFormats[] = [
  { name: 'postgres', title: 'RDS/Aurora PostgreSQL', formats: POSTGRES_CLIENT_FORMATS },
  { name: 'mysql', title: 'RDS/Aurora MySQL and RDS MariaDB', formats: MYSQL_CLIENT_FORMATS },
  { name: 'valkey', title: 'ElastiCache (Valkey / Redis OSS)', formats: VALKEY_CLIENT_FORMATS },
];

const byName = new Map(ENGINE_CLIENT_FORMATS.map((e) => [e.name, e]));

export const clientFormatsOf = (engine: string): EngineClientFormats | undefined => byName.get(engine);
