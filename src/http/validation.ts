import type { FastifyInstance } from 'fastify';
import { Ajv, type Options } from 'ajv';
import formatsModule from 'ajv-formats';
import { registerTextSafety } from './text-safety.js';

// ajv-formats is CommonJS with a `default` export; under NodeNext the callable is one level down.
const addFormats = formatsModule.default;

/**
 * Request validation that refuses rather than repairs: unknown fields are a 400 (never silently
 * dropped) and body values are never coerced ("5" is not 5). Query strings and path parameters
 * are text by nature, so only they are coerced to their declared types. Before any schema runs,
 * one hook refuses control characters in every part of the request (see text-safety.ts).
 */
export function registerStrictValidation(app: FastifyInstance): void {
  const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false };
  const bodies = new Ajv({ ...common, coerceTypes: false });
  const params = new Ajv({ ...common, coerceTypes: true });
  addFormats(bodies);
  addFormats(params);
  registerTextSafety(app);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies : params).compile(schema));
}
