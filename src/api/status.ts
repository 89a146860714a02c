/** The only place where errors become gRPC statuses. */
import { Metadata, status } from '@grpc/grpc-js';
import type { CallContext } from '../context.js';
import { type ErrorCode, JackError } from '../errors.js';
import { RetryInfo } from '../gen/google/rpc/error_details.js';
import { Status } from '../gen/google/rpc/status.js';

export interface StatusObject {
  code: status;
  details: string;
  /**
   * Trailers to send with the status: `grpc-status-details-bin` (an encoded
   * google.rpc.Status) when the error carries details, e.g. a RetryInfo.
   */
  metadata?: Metadata;
}

/** The standard trailer of rich error details (gRPC error model). */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/**
 * Longest status message sent, bytes of UTF-8. Messages name the ids a
 * caller sent (`producer not found: <id>`), and request fields are only
 * bounded by GRPC_MAX_RECEIVE_BYTES: echoed whole, a 100 KB id made a
 * `grpc-message` trailer larger than HTTP/2 clients accept, and the client
 * saw INTERNAL "Protocol error" with its whole connection torn down. 1 KiB
 * keeps every message about an id Jack issued intact, and percent-encoded
 * (at most 3 KiB) it stays below the smallest common client limit
 * (grpc-java: 8 KiB of metadata).
 */
export const MAX_DETAILS_BYTES = 1024;
const ELLIPSIS = '…'; // 3 bytes of UTF-8
const cutBuffer = new Uint8Array(MAX_DETAILS_BYTES - 3);
const encoder = new TextEncoder();

/** `message` cut to MAX_DETAILS_BYTES of UTF-8 on a code point boundary, with `…` when cut. */
export function boundedDetails(message: string): string {
  // One UTF-16 unit is at most 3 bytes of UTF-8: most messages skip the count.
  if (message.length * 3 <= MAX_DETAILS_BYTES) return message;
  if (Buffer.byteLength(message, 'utf8') <= MAX_DETAILS_BYTES) return message;
  // encodeInto never splits a code point: `read` UTF-16 units fit whole.
  const { read } = encoder.encodeInto(message, cutBuffer);
  return `${message.slice(0, read)}${ELLIPSIS}`;
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
  unauthenticated: status.UNAUTHENTICATED,
  permission_denied: status.PERMISSION_DENIED,
};

/**
 * A JackError keeps its code and message (cut to MAX_DETAILS_BYTES); an abort becomes CANCELLED;
 * anything else becomes UNKNOWN with a generic message (the caller logs the
 * real error, which never reaches the wire).
 */
export function toStatus(err: unknown): StatusObject {
  if (err instanceof JackError) {
    const code = CODES[err.code];
    const details = boundedDetails(err.message);
    if (err.retryDelayMs === undefined) return { code, details };
    return { code, details, metadata: retryMetadata(code, details, err.retryDelayMs) };
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: status.CANCELLED, details: 'the call was cancelled' };
  }
  return { code: status.UNKNOWN, details: 'unexpected server error (logged)' };
}

const mapped = new WeakMap<CallContext, { err: unknown; status: StatusObject }>();

/**
 * The status a call failed with, mapped once per call: the interceptors
 * (tracing, logs, audit, metrics) and the transport all ask for it, and a
 * rate-limited call would otherwise encode its RetryInfo each time.
 */
export function callStatus(ctx: CallContext, err: unknown): StatusObject {
  const known = mapped.get(ctx);
  if (known !== undefined && known.err === err) return known.status;
  const status = toStatus(err);
  mapped.set(ctx, { err, status });
  return status;
}

/** `status.OK` → `OK`, for logs and metric labels. */
export function statusName(code: status): string {
  return status[code] ?? String(code);
}

/**
 * A google.rpc.Status with one RetryInfo, in the `grpc-status-details-bin`
 * trailer; its code and message repeat the status (the gRPC error model
 * requires them to match).
 */
function retryMetadata(code: status, message: string, retryDelayMs: number): Metadata {
  const ms = Math.max(0, Math.ceil(retryDelayMs));
  const retryInfo = RetryInfo.encode({
    retryDelay: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 },
  }).finish();
  const encoded = Status.encode({
    code,
    message,
    details: [{ typeUrl: RETRY_INFO_TYPE_URL, value: Buffer.from(retryInfo) }],
  }).finish();
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(encoded));
  return metadata;
}

/** The RetryInfo delay in a `grpc-status-details-bin` value, ms; undefined when absent. */
export function decodeRetryDelayMs(detailsBin: Buffer): number | undefined {
  const decoded = Status.decode(detailsBin);
  const any = decoded.details.find((d) => d.typeUrl === RETRY_INFO_TYPE_URL);
  if (any === undefined) return undefined;
  const delay = RetryInfo.decode(any.value).retryDelay;
  if (delay === undefined) return undefined;
  return delay.seconds * 1000 + delay.nanos / 1_000_000;
}
