/**
 * Job → broker message (pure). The same bytes are used for an immediate
 * publish and inside a Cloud Task's publish request, so a scheduled job lands
 * exactly as an immediate one would.
 */
import { isUtf8 } from 'node:buffer';
import type { MessageFormat } from '../config/index.js';
import { JackError } from '../errors.js';
import type { Job, OutboundMessage } from './backend.js';
import { goCompactJson, goJsonString, goTime } from './go-json.js';

/**
 * `toISOString` with a one-entry cache: under load many jobs share the same
 * millisecond, and run_at is usually created_at, so most calls format nothing.
 */
let lastIsoMs = Number.NaN;
let lastIso = '';
function isoString(date: Date): string {
  const ms = date.getTime();
  if (ms !== lastIsoMs) {
    lastIso = date.toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

/** Message attributes of a job (SPEC §3), in a fixed order. */
export function messageAttributes(job: Job): Record<string, string> {
  const attributes: Record<string, string> = {
    job_id: job.id,
    producer_id: job.producerId,
    job_type: job.jobType,
    priority: job.priority,
    run_at: isoString(job.runAt),
    created_at: isoString(job.createdAt),
    max_retries: String(job.maxRetries),
    shadow: job.shadow ? 'true' : 'false',
  };
  if (job.traceId !== '') attributes.trace_id = job.traceId;
  if (job.correlationId !== '') attributes.correlation_id = job.correlationId;
  return attributes;
}

/**
 * Encodes a job in the configured format.
 * @param now time of encoding: the legacy format's `published_at`.
 * @throws JackError invalid_argument when the legacy format is asked for and
 *   the payload is not JSON (it cannot be embedded).
 */
export function encodeMessage(job: Job, format: MessageFormat, now: Date): OutboundMessage {
  const attributes = messageAttributes(job);
  const data = format === 'native' ? job.payload : legacyData(job, attributes, now);
  return { jobId: job.id, priority: job.priority, data, attributes };
}

function legacyData(job: Job, attributes: Record<string, string>, now: Date): Buffer {
  let args: Buffer = NULL_ARGS;
  if (job.payload.length > 0) {
    try {
      // JSON text is UTF-8 (RFC 8259): invalid bytes would otherwise be
      // replaced by U+FFFD and the job's arguments silently changed.
      if (!isUtf8(job.payload)) throw new Error('not UTF-8');
      JSON.parse(job.payload.toString('utf8'));
    } catch {
      throw new JackError(
        'invalid_argument',
        'payload is not valid JSON, which MESSAGE_FORMAT=legacy requires (it is embedded as "args")',
      );
    }
    // Go's json.Marshal of a json.RawMessage: the caller's JSON compacted
    // and HTML-escaped, otherwise verbatim (key order, number spelling).
    args = goCompactJson(job.payload);
  }
  // The Go service's legacyPubsubJob, field for field, in its order.
  const createdAt = goTime(attributes.created_at as string);
  const head =
    `{"id":${goJsonString(job.id)},"run_at":${goTime(attributes.run_at as string)},` +
    `"queue":"${job.priority}","args":`;
  const tail =
    `,"status":"not_published","created_at":${createdAt},"updated_at":${createdAt},` +
    `"job_type":${goJsonString(job.jobType)},"published_at":${goTime(now.toISOString())},` +
    `"error_count":0}`;
  return Buffer.concat([Buffer.from(head), args, Buffer.from(tail)]);
}

const NULL_ARGS = Buffer.from('null');
