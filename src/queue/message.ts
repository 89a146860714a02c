/**
 * Job → broker message (pure). The same bytes are used for an immediate
 * publish and inside a Cloud Task's publish request, so a scheduled job lands
 * exactly as an immediate one would.
 */
import { isUtf8 } from 'node:buffer';
import type { MessageFormat } from '../config.js';
import { JackError } from '../errors.js';
import type { Job, OutboundMessage } from './backend.js';

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
  let args = 'null';
  if (job.payload.length > 0) {
    args = job.payload.toString('utf8');
    try {
      // JSON text is UTF-8 (RFC 8259): invalid bytes would otherwise be
      // replaced by U+FFFD and the job's arguments silently changed.
      if (!isUtf8(job.payload)) throw new Error('not UTF-8');
      JSON.parse(args);
    } catch {
      throw new JackError(
        'invalid_argument',
        'payload is not valid JSON, which MESSAGE_FORMAT=legacy requires (it is embedded as "args")',
      );
    }
  }
  // Built by hand so that `args` is the caller's JSON verbatim (key order,
  // number formatting), not a re-serialisation of it.
  const text =
    `{"id":${JSON.stringify(job.id)},"run_at":${JSON.stringify(attributes.run_at)},` +
    `"queue":${JSON.stringify(job.priority)},"args":${args},"status":"not_published",` +
    `"created_at":${JSON.stringify(attributes.created_at)},"updated_at":${JSON.stringify(attributes.created_at)},` +
    `"job_type":${JSON.stringify(job.jobType)},"published_at":${JSON.stringify(now.toISOString())},` +
    `"error_count":0}`;
  return Buffer.from(text, 'utf8');
}
