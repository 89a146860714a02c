/**
 * What a handler receives (SPEC §15): a job decoded from either of Jack's
 * message formats (§3). Pure: no backend, no I/O.
 */

export const PRIORITIES = ['immediate', 'high', 'medium', 'low'] as const;
/** A lane: the priority a subscription (or consumer) carries. */
export type Priority = (typeof PRIORITIES)[number];

export interface Job {
  /** `job_id` attribute: the id Enqueue answered. */
  id: string;
  producerId: string;
  /** `job_type` attribute: which handler runs it. */
  type: string;
  /** The job's own priority (its `priority` attribute; else the lane it came from). */
  priority: Priority;
  /** The payload as enqueued (legacy format: the embedded `args` JSON; `null` args → empty). */
  payload: Buffer;
  /** Every attribute of the message, as sent (run_at, created_at, trace_id, …). */
  attributes: Readonly<Record<string, string>>;
  /** 1 on the first run, 2 on the first retry, … (see README: how the attempt is counted). */
  attempt: number;
  /** Retries allowed after the first attempt (`max_retries`); Infinity when the message has none. */
  maxRetries: number;
  /** Which of Jack's formats the message was in. */
  format: 'native' | 'legacy';
  /** The backend's id of the message. */
  messageId: string;
}

/**
 * Thrown by a handler for a job that can never succeed (bad payload, a
 * deleted record): the job goes to DEAD at once, without retries.
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/** The attributes a message must carry to be Jack's; without `job_id` it is not. */
export function isJackMessage(attributes: Readonly<Record<string, string>>): boolean {
  return (attributes.job_id ?? '') !== '' && (attributes.job_type ?? '') !== '';
}

const LEGACY_HEAD = '{"id":';
const ARGS_KEY = ',"args":';
const STATUS_KEY = ',"status":';

/**
 * The payload of a message. A legacy message (§3: a JSON object whose `id`
 * is the job id, with `args`, `queue` and `status`) yields its `args` bytes
 * as they were sent (number spelling and key order kept); anything else is
 * a native message, whose data is the payload itself.
 */
export function decodePayload(
  data: Buffer,
  jobId: string,
): { payload: Buffer; format: 'native' | 'legacy' } {
  if (data.length < 2 || data.subarray(0, LEGACY_HEAD.length).toString() !== LEGACY_HEAD) {
    return { payload: data, format: 'native' };
  }
  const text = data.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { payload: data, format: 'native' };
  }
  const legacy = parsed as Record<string, unknown>;
  if (
    typeof legacy !== 'object' ||
    legacy === null ||
    legacy.id !== jobId ||
    !('args' in legacy) ||
    typeof legacy.status !== 'string' ||
    typeof legacy.queue !== 'string'
  ) {
    return { payload: data, format: 'native' };
  }
  if (legacy.args === null) return { payload: Buffer.alloc(0), format: 'legacy' };
  // `args` is written after id, run_at and queue (none can hold `,"args":`)
  // and before status, created_at, updated_at, job_type, published_at and
  // error_count (whose strings have their quotes escaped): the first
  // `,"args":` and the last `,"status":` bound the raw bytes.
  const start = text.indexOf(ARGS_KEY);
  const end = text.lastIndexOf(STATUS_KEY);
  if (start < 0 || end <= start) {
    return { payload: Buffer.from(JSON.stringify(legacy.args)), format: 'legacy' };
  }
  return { payload: Buffer.from(text.slice(start + ARGS_KEY.length, end)), format: 'legacy' };
}

function priorityOf(value: string | undefined, lane: Priority): Priority {
  return (PRIORITIES as readonly string[]).includes(value ?? '') ? (value as Priority) : lane;
}

function maxRetriesOf(value: string | undefined): number {
  if (value === undefined || !/^\d{1,9}$/.test(value)) return Number.POSITIVE_INFINITY;
  return Number(value);
}

/** A Job from a message of Jack's (check `isJackMessage` first) and its attempt number. */
export function decodeJob(
  message: { data: Buffer; attributes: Readonly<Record<string, string>>; messageId: string },
  lane: Priority,
  attempt: number,
): Job {
  const attributes = message.attributes;
  const id = attributes.job_id ?? '';
  const { payload, format } = decodePayload(message.data, id);
  return {
    id,
    producerId: attributes.producer_id ?? '',
    type: attributes.job_type ?? '',
    priority: priorityOf(attributes.priority, lane),
    payload,
    attributes,
    attempt,
    maxRetries: maxRetriesOf(attributes.max_retries),
    format,
    messageId: message.messageId,
  };
}
