import { buildApp } from '../src/app.js';
import { parseConfig } from '../src/config/load-config.js';
import { openApiYaml } from '../src/http/openapi.js';
import type { Store } from '../src/store/store.js';

// The document depends only on the routes, so the app is built with inert dependencies.
const inert = (): never => {
  throw new Error('not used while rendering the OpenAPI document');
};
const store: Store = { kind: 'embedded', query: inert, exec: inert, transaction: inert, withSession: inert, close: async () => undefined };

/** Renders openapi.yaml from the route schemas (the committed file must equal this). */
export async function renderOpenApi(): Promise<string> {
  const config = parseConfig({
    logLevel: 'silent',
    auth: { issuers: [{ issuer: 'https://issuer.invalid', audience: 'dab' }] },
    audit: { fingerprintKey: '0'.repeat(64) },
  });
  const app = await buildApp(config, { store, assumeRole: inert });
  try {
    return await openApiYaml(app);
  } finally {
    await app.close();
  }
}
