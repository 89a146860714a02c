/**
 * Where a job goes: its priority and retry budget, from the job-type registry
 * or (LEGACY_PAYLOAD_QUEUE_ROUTING) from the payload itself. Pure, apart from
 * the snapshot reads it is given.
 */
import { JackError } from '../errors.js';
import { Queue } from '../gen/jack/storage.js';
import type { Priority } from '../queue/backend.js';
import type { Store } from '../storage/store.js';
import { legacyPayloadPriority } from './legacy-routing.js';

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

/** Go-compatible reading of the payload's `queue` key (SPEC §12): see legacy-routing.ts. */
export { legacyPayloadPriority };

/** The store reads routing needs. */
export type RoutingLookups = Pick<Store, 'getProducer' | 'getJobType'>;

export interface Route {
  priority: Priority;
  maxRetries: number;
  /** True when LEGACY_PAYLOAD_QUEUE_ROUTING took the priority from the payload. */
  fromPayload: boolean;
}

/**
 * Routes one job and pushes the SPEC §2.2 warnings (unregistered producer,
 * unregistered job type) onto `warnings`; with VALIDATION_MODE=enforce
 * (SPEC §8) the same findings are NOT_FOUND errors, bulk reason
 * `unregistered`. A job routed by its payload never consults the job-type
 * registry, in either mode (SPEC §2.5).
 */
export function routeJob(
  lookups: RoutingLookups,
  producerId: string,
  jobType: string,
  payload: Buffer,
  legacyPayloadRouting: boolean,
  warnings: string[],
  validationMode: 'warn' | 'enforce' = 'warn',
): Route {
  const unregistered = (message: string) => {
    if (validationMode === 'enforce') {
      throw new JackError('not_found', message, { reason: 'unregistered' });
    }
    warnings.push(message);
  };
  if (lookups.getProducer(producerId) === undefined) {
    unregistered(`unregistered producer_id: ${producerId}`);
  }
  const legacy = legacyPayloadRouting ? legacyPayloadPriority(payload) : undefined;
  if (legacy !== undefined) {
    return { priority: legacy, maxRetries: UNREGISTERED_MAX_RETRIES, fromPayload: true };
  }
  const registered = lookups.getJobType(producerId, jobType);
  if (registered === undefined) {
    unregistered(`unregistered job_type: ${jobType} (producer: ${producerId})`);
    return { priority: 'medium', maxRetries: UNREGISTERED_MAX_RETRIES, fromPayload: false };
  }
  return {
    priority: priorityOfQueue(registered.queue),
    maxRetries: registered.maxRetries,
    fromPayload: false,
  };
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
