/** Wire request → validated value, or JackError('invalid_argument'). Pure. */
import { JackError } from '../errors.js';

/** Pub/Sub's limit on one attribute value, bytes. */
export const MAX_ATTRIBUTE_BYTES = 1024;

/**
 * The one rule for a required string, on every path (Enqueue, the admin
 * API, the job lookups): blank is missing, so an id of spaces cannot be
 * sent as a job and then be refused by the admin API.
 */
export function required(field: string, value: string): void {
  if (value.trim() === '') throw new JackError('invalid_argument', `${field} is required`);
}

/** A string is at most 3 UTF-8 bytes per UTF-16 unit, so short strings skip the byte count. */
export function withinAttributeLimit(value: string): boolean {
  return (
    value.length * 3 <= MAX_ATTRIBUTE_BYTES ||
    Buffer.byteLength(value, 'utf8') <= MAX_ATTRIBUTE_BYTES
  );
}

export function maxAttributeBytes(field: string, value: string): void {
  if (!withinAttributeLimit(value)) {
    throw new JackError(
      'invalid_argument',
      `${field} is longer than ${MAX_ATTRIBUTE_BYTES} bytes (the Pub/Sub attribute limit)`,
    );
  }
}

/** google.protobuf.Timestamp's range (RFC 3339 years 0001–9999), in ms since the epoch. */
const MIN_TIMESTAMP_MS = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const MAX_TIMESTAMP_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/**
 * A time outside the Timestamp range cannot be written as an RFC 3339
 * attribute (and beyond ±8.64e15 ms is not even a Date): refuse it here
 * rather than fail later with an unexpected error.
 */
export function timestampInRange(field: string, value: Date): void {
  const ms = value.getTime();
  if (!(ms >= MIN_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS)) {
    throw new JackError(
      'invalid_argument',
      `${field} is outside the range of a Timestamp (0001-01-01 to 9999-12-31 UTC)`,
    );
  }
}

/** The fields of one job that the wire checks look at. */
export interface CheckedFields {
  producerId: string;
  jobType: string;
  payload: Buffer;
  runAt: Date | undefined;
  traceId: string;
  correlationId: string;
}

/** The field checks of one job, in the order of SPEC §2.1; the first failure is thrown. */
export function validateJobFields(input: CheckedFields, maxPayloadBytes: number): void {
  required('producer_id', input.producerId);
  required('job_type', input.jobType);
  if (input.payload.length > maxPayloadBytes) {
    throw new JackError(
      'invalid_argument',
      `payload is ${input.payload.length} bytes, larger than the limit of ${maxPayloadBytes} bytes (MAX_PAYLOAD_BYTES)`,
      { reason: 'payload_too_large' },
    );
  }
  maxAttributeBytes('producer_id', input.producerId);
  maxAttributeBytes('job_type', input.jobType);
  maxAttributeBytes('trace_id', input.traceId);
  maxAttributeBytes('correlation_id', input.correlationId);
  if (input.runAt !== undefined) timestampInRange('run_at', input.runAt);
}
