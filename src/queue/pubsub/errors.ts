/** What a Pub/Sub client error means to Jack's callers (SPEC §3, errors). */
import { isJackError, JackError, toError } from '../../errors.js';

/** gRPC status codes, numbered as on the wire (google-gax errors carry them as `code`). */
export const GRPC_DEADLINE_EXCEEDED = 4;
export const GRPC_NOT_FOUND = 5;
export const GRPC_ALREADY_EXISTS = 6;
export const GRPC_UNAVAILABLE = 14;

/** Socket-level failures that mean "could not reach Pub/Sub" when no gRPC code is attached. */
const UNREACHABLE_PATTERN =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EAI_AGAIN|No connection established|Failed to connect/i;

/**
 * Turns anything the client library threw into a JackError: Pub/Sub
 * unreachable, out of time or overloaded on its side → `unavailable` (the
 * caller may retry); everything else (permission, missing topic, bad
 * request) → `internal`.
 */
export function classifyPubSubError(err: unknown, what: string): JackError {
  if (isJackError(err)) return err;
  const error = toError(err);
  const code = (error as { code?: unknown }).code;
  const unavailable =
    code === GRPC_UNAVAILABLE ||
    code === GRPC_DEADLINE_EXCEEDED ||
    (typeof code !== 'number' && UNREACHABLE_PATTERN.test(error.message));
  return new JackError(
    unavailable ? 'unavailable' : 'internal',
    `${what}: ${firstLine(error.message)}`,
    { cause: error },
  );
}

/**
 * A failed publish as the client sees it (SPEC §6): the code and a message
 * of Jack's own, without topic names or the library's text; those stay in
 * `cause`, which the call's log line carries.
 */
export function publishFailure(err: unknown): JackError {
  const classified = classifyPubSubError(err, 'publish failed');
  return new JackError(
    classified.code,
    classified.code === 'unavailable'
      ? 'Pub/Sub is unavailable: the job was not enqueued; retry'
      : 'Pub/Sub refused the job: it was not enqueued (the cause is logged)',
    { cause: classified },
  );
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
