import { AppError } from '../http/problem.js';
import type { RequestState } from './access-request-schema.js';
import { effectiveState, type RequestRow } from './access-requests-repo.js';

/** A refusal decided inside a step's transaction: rolled back, then audited as a denial and answered. */
export class Refusal extends Error {
  constructor(readonly error: AppError, readonly code: string, readonly row?: RequestRow) {
    super(error.message);
  }
}

/** The approver must name the version they read: anything else (an approval since, a cancel) is stale. */
export function checkVersion(row: RequestRow, version: number): void {
  if (row.version !== version) throw new Refusal(new AppError('request_changed', `request ${row.id} is at version ${row.version}, you read version ${version}: read it again before you decide`), 'request_changed', row);
}

/** The step applies only in these (clock-derived) states; a closed request says which it is. */
export function requireState(row: RequestRow, at: Date, allowed: RequestState[], verb: string): void {
  const state = effectiveState(row, at);
  if (!allowed.includes(state)) throw new Refusal(new AppError('request_closed', `request ${row.id} is ${state}: it cannot be ${verb}`), 'request_closed', row);
}
