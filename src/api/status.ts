/** The only place where errors become gRPC statuses. */
import { type Metadata, status } from '@grpc/grpc-js';
import { type ErrorCode, JackError } from '../errors.js';

export interface StatusObject {
  code: status;
  details: string;
  /** Trailers to send with the status (e.g. `grpc-status-details-bin`). */
  metadata?: Metadata;
}

const CODES: Record<ErrorCode, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  failed_precondition: status.FAILED_PRECONDITION,
  aborted: status.ABORTED,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
  deadline_exceeded: status.DEADLINE_EXCEEDED,
  cancelled: status.CANCELLED,
  internal: status.INTERNAL,
};

/**
 * A JackError keeps its code and message; an abort becomes CANCELLED;
 * anything else becomes UNKNOWN with a generic message (the caller logs the
 * real error, which never reaches the wire).
 */
export function toStatus(err: unknown): StatusObject {
  if (err instanceof JackError) return { code: CODES[err.code], details: err.message };
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: status.CANCELLED, details: 'the call was cancelled' };
  }
  return { code: status.UNKNOWN, details: 'unexpected server error (logged)' };
}

/** `status.OK` → `OK`, for logs and metric labels. */
export function statusName(code: status): string {
  return status[code] ?? String(code);
}
