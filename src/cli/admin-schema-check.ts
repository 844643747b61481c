import { Ajv } from 'ajv';
import formatsModule from 'ajv-formats';
import { ApplyRequest } from '../admin/admin-schema.js';
import type { FieldProblem } from './admin-client.js';

// ajv-formats is CommonJS with a `default` export; under NodeNext the callable is one level down.
const addFormats = formatsModule.default;

/**
 * Every schema problem of an apply body, with fields named as dab names them (body.document.…).
 * dab's own validator stops at the first error (allErrors: false keeps hostile bodies cheap), so
 * the CLI checks the document against the same schema first and reports all of it in one run.
 */
export function applySchemaProblems(body: unknown): FieldProblem[] {
  const ajv = new Ajv({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
  addFormats(ajv);
  const validate = ajv.compile(ApplyRequest);
  if (validate(structuredClone(body))) return [];
  return (validate.errors ?? []).map((v) => {
    const path = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const params = v.params as Record<string, unknown>;
    const leaf = (params.additionalProperty ?? params.missingProperty) as string | undefined;
    return { field: ['body', path, leaf].filter(Boolean).join('.'), message: v.message ?? 'is invalid' };
  });
}
