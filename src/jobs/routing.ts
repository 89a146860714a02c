/**
 * Where a job goes: its priority and retry budget, from the job-type registry
 * or (LEGACY_PAYLOAD_QUEUE_ROUTING) from the payload itself. Pure, apart from
 * the snapshot reads it is given.
 */
import { Queue } from '../gen/jack/storage.js';
import type { Priority } from '../queue/backend.js';
import type { Store } from '../storage/store.js';

/** max_retries of a job routed without a registered job type (SPEC §2.5). */
export const UNREGISTERED_MAX_RETRIES = 10;

const PRIORITY_OF_QUEUE: Record<number, Priority> = {
  [Queue.QUEUE_IMMEDIATE]: 'immediate',
  [Queue.QUEUE_HIGH]: 'high',
  [Queue.QUEUE_MEDIUM]: 'medium',
  [Queue.QUEUE_LOW]: 'low',
};

/** Queue enum → priority; UNSPECIFIED (and anything unknown) routes as medium. */
export function priorityOfQueue(queue: Queue): Priority {
  return PRIORITY_OF_QUEUE[queue] ?? 'medium';
}

const LEGACY_QUEUES: ReadonlySet<string> = new Set(['immediate', 'high', 'medium', 'low']);
const QUEUE_KEY = Buffer.from('"queue"');
/** A `\u` escape may spell the key (`"q\u0075eue"`), so such payloads are always parsed. */
const UNICODE_ESCAPE = Buffer.from('\\u');

/**
 * LEGACY_PAYLOAD_QUEUE_ROUTING: a JSON object payload whose `queue` is exactly
 * one of the four priority names picks that priority. Anything else → undefined.
 */
export function legacyPayloadPriority(payload: Buffer): Priority | undefined {
  // Cheap pre-check: most payloads never mention "queue", so skip the parse.
  if (
    payload.length === 0 ||
    (payload.indexOf(QUEUE_KEY) === -1 && payload.indexOf(UNICODE_ESCAPE) === -1)
  )
    return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const queue = (parsed as { queue?: unknown }).queue;
  return typeof queue === 'string' && LEGACY_QUEUES.has(queue) ? (queue as Priority) : undefined;
}

/** The store reads routing needs. */
export type RoutingLookups = Pick<Store, 'getProducer' | 'getJobType'>;

export interface Route {
  priority: Priority;
  maxRetries: number;
}

/**
 * Routes one job and pushes the SPEC §2.2 warnings (unregistered producer,
 * unregistered job type) onto `warnings`.
 */
export function routeJob(
  lookups: RoutingLookups,
  producerId: string,
  jobType: string,
  payload: Buffer,
  legacyPayloadRouting: boolean,
  warnings: string[],
): Route {
  if (lookups.getProducer(producerId) === undefined) {
    warnings.push(`unregistered producer_id: ${producerId}`);
  }
  const legacy = legacyPayloadRouting ? legacyPayloadPriority(payload) : undefined;
  if (legacy !== undefined) return { priority: legacy, maxRetries: UNREGISTERED_MAX_RETRIES };
  const registered = lookups.getJobType(producerId, jobType);
  if (registered === undefined) {
    warnings.push(`unregistered job_type: ${jobType} (producer: ${producerId})`);
    return { priority: 'medium', maxRetries: UNREGISTERED_MAX_RETRIES };
  }
  return { priority: priorityOfQueue(registered.queue), maxRetries: registered.maxRetries };
}

/**
 * Store reads for one EnqueueBulk call that remember the last answer: the
 * jobs of a batch usually share producer and job type, and the loop that
 * routes them is synchronous, so the store's snapshot cannot change between
 * two jobs of it.
 */
export function rememberingLookups(store: RoutingLookups): RoutingLookups {
  let producerId: string | undefined;
  let producer: ReturnType<Store['getProducer']>;
  let jobTypeProducerId: string | undefined;
  let jobTypeName: string | undefined;
  let jobType: ReturnType<Store['getJobType']>;
  return {
    getProducer(id) {
      if (id !== producerId) {
        producer = store.getProducer(id);
        producerId = id;
      }
      return producer;
    },
    getJobType(id, name) {
      if (id !== jobTypeProducerId || name !== jobTypeName) {
        jobType = store.getJobType(id, name);
        jobTypeProducerId = id;
        jobTypeName = name;
      }
      return jobType;
    },
  };
}
