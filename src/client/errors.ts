/**
 * The error every client call rejects with: the gRPC code (number and
 * lower-case name), the server's message, its trailers, and how many
 * attempts were made.
 */
import { type Metadata, status } from '@grpc/grpc-js';

export class JackClientError extends Error {
  override readonly name = 'JackClientError';
  /** The gRPC status code. */
  readonly code: status;
  /** The code's name in lower case, e.g. `not_found`. */
  readonly codeName: string;
  /** The server's status message. */
  readonly details: string;
  readonly metadata: Metadata | undefined;
  /** Attempts made before giving up (1 = not retried). */
  readonly attempts: number;

  constructor(
    code: status,
    details: string,
    options: { metadata?: Metadata; attempts?: number; cause?: unknown } = {},
  ) {
    super(details, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.codeName = codeName(code);
    this.details = details;
    this.metadata = options.metadata;
    this.attempts = options.attempts ?? 1;
  }
}

/** `status.NOT_FOUND` → `not_found`. */
export function codeName(code: status): string {
  return (status[code] ?? 'unknown').toLowerCase();
}
