/**
 * The one domain error of Jack. Storage, queue and scheduler code throw it;
 * only `api/status.ts` turns it into a gRPC status. No grpc import here.
 */
export type ErrorCode =
  | 'invalid_argument'
  | 'not_found'
  | 'already_exists'
  | 'failed_precondition'
  | 'aborted'
  | 'resource_exhausted'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'cancelled'
  | 'internal'
  | 'unauthenticated'
  | 'permission_denied';

/**
 * Machine-readable reason of a refused job in an EnqueueBulk result
 * (SPEC §2). Derived from the error code unless an error names its own.
 */
export type BulkReason =
  | 'validation_error'
  | 'payload_too_large'
  | 'unavailable'
  | 'internal_error'
  | 'permission_denied'
  | 'unregistered'
  | 'rate_limited'
  | 'idempotency_conflict'
  | 'in_progress';

export interface JackErrorOptions {
  cause?: unknown;
  /** Overrides the bulk reason derived from the code (e.g. payload_too_large). */
  reason?: BulkReason;
  /**
   * When the client may retry (ms from now); sent as a google.rpc.RetryInfo
   * in the status details (SPEC §8 rate limits).
   */
  retryDelayMs?: number;
}

export class JackError extends Error {
  override readonly name = 'JackError';
  readonly code: ErrorCode;
  readonly reason: BulkReason;
  readonly retryDelayMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: JackErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reason = options.reason ?? reasonForCode(code);
    this.retryDelayMs = options.retryDelayMs;
  }
}

function reasonForCode(code: ErrorCode): BulkReason {
  switch (code) {
    case 'invalid_argument':
    case 'failed_precondition':
    case 'not_found':
    case 'already_exists':
      return 'validation_error';
    case 'unavailable':
    case 'deadline_exceeded':
    case 'aborted':
    case 'resource_exhausted':
      return 'unavailable';
    case 'permission_denied':
      return 'permission_denied';
    default:
      return 'internal_error';
  }
}

export function isJackError(err: unknown, code?: ErrorCode): err is JackError {
  return err instanceof JackError && (code === undefined || err.code === code);
}

/** Normalises anything caught into an Error (a thrown string becomes its message). */
export function toError(err: unknown): Error {
  if (err instanceof Error) return err;
  return new Error(typeof err === 'string' ? err : JSON.stringify(err));
}
