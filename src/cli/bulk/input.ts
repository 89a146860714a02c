/**
 * One line of a bulk file (SPEC §13) → one EnqueueRequest. snake_case and
 * camelCase field names are accepted; `payload` is any JSON value, sent as
 * its JSON text; `payload_base64` carries bytes instead. A line that is not
 * such an object is refused here, before anything is sent.
 */
import { createHash } from 'node:crypto';
import type { EnqueueRequest, Init } from '../../client/index.js';

/** Far above the largest job Jack accepts; a longer line is refused, not sent. */
export const MAX_LINE_CHARS = 16 * 1024 * 1024;

const FIELDS: Record<string, string> = {
  producer_id: 'producerId',
  job_type: 'jobType',
  payload: 'payload',
  payload_base64: 'payloadBase64',
  run_at: 'runAt',
  idempotency_key: 'idempotencyKey',
  correlation_id: 'correlationId',
  trace_id: 'traceId',
};
const CAMEL = new Set(Object.values(FIELDS));
const STRING_FIELDS = ['producerId', 'jobType', 'idempotencyKey', 'correlationId', 'traceId'];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type ParsedLine = { job: Init<EnqueueRequest> } | { error: string };

/**
 * The idempotency key of a line without its own: a hash of the input's
 * identity, the line number and the line itself, so a retry or a resume of
 * the same line sends the same key (and Jack publishes it once).
 */
function derivedKey(identity: string, index: number, line: string): string {
  const hash = createHash('sha256').update(`${identity}\n${index}\n${line}`).digest('hex');
  return `jack-bulk-${hash.slice(0, 40)}`;
}

export function parseLine(line: string, index: number, identity: string): ParsedLine {
  if (line.length > MAX_LINE_CHARS)
    return { error: `line longer than ${MAX_LINE_CHARS} characters` };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { error: 'not a JSON object' };
  }
  const fields: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const name = FIELDS[key] ?? (CAMEL.has(key) ? key : undefined);
    if (name === undefined) return { error: `unknown field "${key}"` };
    if (name in fields) return { error: `field "${key}" given twice` };
    fields[name] = v;
  }
  for (const name of STRING_FIELDS) {
    if (fields[name] !== undefined && typeof fields[name] !== 'string') {
      return { error: `${name} must be a string` };
    }
  }
  let payload = Buffer.alloc(0);
  if (fields.payload !== undefined && fields.payloadBase64 !== undefined) {
    return { error: 'give payload or payload_base64, not both' };
  }
  if (fields.payload !== undefined) payload = Buffer.from(JSON.stringify(fields.payload), 'utf8');
  if (fields.payloadBase64 !== undefined) {
    if (typeof fields.payloadBase64 !== 'string' || !BASE64.test(fields.payloadBase64)) {
      return { error: 'payload_base64 must be a base64 string' };
    }
    payload = Buffer.from(fields.payloadBase64, 'base64');
  }
  let runAt: Date | undefined;
  if (fields.runAt !== undefined) {
    runAt = typeof fields.runAt === 'string' ? new Date(fields.runAt) : undefined;
    if (
      runAt === undefined ||
      Number.isNaN(runAt.getTime()) ||
      !/^\d{4}-\d{2}-\d{2}T/.test(String(fields.runAt))
    ) {
      return { error: 'run_at must be an RFC 3339 time' };
    }
  }
  const own = fields.idempotencyKey as string | undefined;
  return {
    job: {
      producerId: fields.producerId as string | undefined,
      jobType: fields.jobType as string | undefined,
      payload,
      runAt,
      idempotencyKey: own ? own : derivedKey(identity, index, line),
      correlationId: fields.correlationId as string | undefined,
      traceId: fields.traceId as string | undefined,
    },
  };
}
