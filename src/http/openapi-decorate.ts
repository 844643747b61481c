import { OPERATION_EXAMPLES } from './openapi-examples.js';

// What the route schemas cannot say about themselves, added to the generated document in one pass:
// the headers dab sets on answers, `security: []` on public probes, and per operation a real
// description and a worked example. Done here, not in each route, because these follow from
// cross-cutting code (the onSend hook, sendProblem, the ETag helpers) rather than from any one route.

type Json = Record<string, any>;

export const RESPONSE_HEADERS = {
  RequestId: { description: 'The id of this request, as logged and as recorded in audit rows (requestId)', schema: { type: 'string' } },
  CacheControl: { description: 'no-store: credentials, audit data and errors are never cached', schema: { type: 'string', enum: ['no-store'] } },
  ETag: { description: 'Strong ETag carrying the resource version, e.g. "3"; send it back as If-Match to change the resource', schema: { type: 'string', pattern: '^"\\d+"$' } },
  RetryAfter: { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
  WwwAuthenticate: { description: 'RFC 6750 bearer challenge, with error and error_description when a token was sent', schema: { type: 'string' } },
} as const;

const ref = (name: keyof typeof RESPONSE_HEADERS) => ({ $ref: `#/components/headers/${name}` });

/** Operations whose successful answer carries the resource's version as an ETag. */
const VERSIONED = /^(create|get|replace)(Database|Mapping)$/;
/** Operations whose successful answer is marked no-store (credentials and everything an auditor reads). */
const NO_STORE_OK = (op: Json, path: string) => op.operationId === 'createCredentials' || path.startsWith('/v1/audit/');

function headersFor(status: string, op: Json, path: string): Json {
  const headers: Json = { 'x-request-id': ref('RequestId') };
  const code = Number(status);
  if (code >= 400) {
    headers['cache-control'] = ref('CacheControl');
    if (code === 429 || code === 503) headers['retry-after'] = ref('RetryAfter');
    if (code === 401) headers['www-authenticate'] = ref('WwwAuthenticate');
  } else {
    if (NO_STORE_OK(op, path)) headers['cache-control'] = ref('CacheControl');
    if (VERSIONED.test(op.operationId) && code < 300) headers.etag = ref('ETag');
  }
  return headers;
}

const CALLER_TIER = new Set(['createCredentials', 'myAccess']);

function decorateOperation(path: string, op: Json): void {
  const example = OPERATION_EXAMPLES[op.operationId];
  if (!example) throw new Error(`openapi: operation ${op.operationId} has no entry in OPERATION_EXAMPLES`);
  // Unauthenticated probes say so explicitly; otherwise a linter (and a reader) cannot tell them from an omission.
  op.security ??= [];
  // Caller routes accept an AWS IAM proof as well as a JWT (auth.aws.tiers, default: the caller tier).
  if (CALLER_TIER.has(op.operationId)) op.security = [{ bearer: [] }, { awsProof: [] }];
  for (const [status, response] of Object.entries(op.responses as Json)) {
    response.headers = { ...headersFor(status, op, path), ...response.headers };
    if (!status.startsWith('2')) continue;
    if (!response.description || response.description === 'Default Response') response.description = example.ok;
    for (const [mediaType, content] of Object.entries((response.content ?? {}) as Json)) {
      const value = example.byMediaType?.[mediaType] ?? example.response;
      // Cloned: one shared object would be written as YAML anchors and aliases, which readers trip over.
      if (value !== undefined) content.example = structuredClone(value);
    }
  }
  const body = op.requestBody?.content?.['application/json'];
  if (body && example.request !== undefined) body.example = structuredClone(example.request);
}

/** Adds headers, probe security, descriptions and examples to the generated OpenAPI object. */
export function decorateOpenApi(doc: Json): Json {
  doc.components = { ...doc.components, headers: RESPONSE_HEADERS };
  for (const [path, operations] of Object.entries((doc.paths ?? {}) as Json)) {
    for (const op of Object.values(operations as Json)) decorateOperation(path, op as Json);
  }
  return doc;
}
