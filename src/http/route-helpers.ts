import { Type } from 'typebox';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request',
  401: 'Missing or invalid bearer token',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  412: 'If-Match names a version that is no longer current: read it again',
  413: 'The body is larger than the server accepts',
  428: 'This change needs If-Match with the version you read (its ETag)',
  429: 'Too many requests (from this identity, or for this database endpoint: see the code); see Retry-After',
  502: 'An upstream (STS) refused or misbehaved',
  503: 'A dependency is unavailable; see Retry-After',
};

/** Response schemas for the error statuses a route documents; all are problem+json (RFC 9457). */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((s) => [s, { description: DESCRIPTIONS[s] ?? 'Error', content: { [PROBLEM_CONTENT_TYPE]: { schema: Type.Ref('Problem') } } }]),
  );
}
