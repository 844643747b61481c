import { Type } from 'typebox';
import { ProblemSchema } from './problem.js';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request',
  401: 'Missing or invalid bearer token',
  403: 'Not allowed',
  404: 'Not found',
  409: 'Conflict',
  502: 'An upstream (STS) refused or misbehaved',
  503: 'A dependency is unavailable; see Retry-After',
};

/** Response schemas for the error statuses a route documents; all share the problem+json shape. */
export function errorResponses(...statuses: number[]): Record<number, unknown> {
  return Object.fromEntries(statuses.map((s) => [s, Type.Ref('Problem', { description: DESCRIPTIONS[s] ?? 'Error' })]));
}
