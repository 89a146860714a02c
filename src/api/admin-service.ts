import { randomBytes } from 'node:crypto';
import { JackError } from '../errors.js';
import type { AdminServiceService } from '../gen/jack/admin.js';
import { Queue } from '../gen/jack/storage.js';
import { maxAttributeBytes, required } from '../jobs/validate.js';
import type { Store } from '../storage/store.js';
import type { ServiceHandlers } from './pipeline.js';

/** Defaults of SPEC §2 (AdminService). */
export const PRODUCER_RATE_LIMIT_RPS = 1000;
export const JOB_TYPE_DEFAULT_MAX_RETRIES = 3;

export interface AdminServiceDeps {
  store: Store;
  now?: () => Date;
}

const VALID_QUEUES: ReadonlySet<number> = new Set([
  Queue.QUEUE_UNSPECIFIED,
  Queue.QUEUE_IMMEDIATE,
  Queue.QUEUE_HIGH,
  Queue.QUEUE_MEDIUM,
  Queue.QUEUE_LOW,
]);

/** `prod_` + 8 lowercase hex digits (4 random bytes). */
export function newProducerId(): string {
  return `prod_${randomBytes(4).toString('hex')}`;
}

/** jack.AdminService: producers and job types. */
export function createAdminService(
  deps: AdminServiceDeps,
): Partial<ServiceHandlers<typeof AdminServiceService>> {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());
  // The SPEC §10 RPCs are not served yet: grpc-js answers UNIMPLEMENTED for them.
  return {
    async createProducer(request) {
      required('name', request.name.trim());
      maxAttributeBytes('name', request.name);
      let producerId = newProducerId();
      while (store.getProducer(producerId) !== undefined) producerId = newProducerId();
      const at = now();
      const producer = await store.createProducer({
        producerId,
        name: request.name,
        description: request.description,
        rateLimitRps: PRODUCER_RATE_LIMIT_RPS,
        principals: [],
        createdAt: at,
        updatedAt: at,
      });
      return { producer };
    },

    async getProducer(request) {
      required('producer_id', request.producerId);
      const producer = store.getProducer(request.producerId);
      if (producer === undefined)
        throw new JackError('not_found', `producer not found: ${request.producerId}`);
      return { producer };
    },

    async listProducers() {
      return { producers: [...store.listProducers()], nextPageToken: '' };
    },

    async createJobType(request) {
      required('producer_id', request.producerId);
      required('name', request.name.trim());
      maxAttributeBytes('name', request.name);
      if (!VALID_QUEUES.has(request.queue)) {
        throw new JackError(
          'invalid_argument',
          `queue ${request.queue} is not a valid Queue value (0-4)`,
        );
      }
      const at = now();
      const jobType = await store.createJobType({
        producerId: request.producerId,
        name: request.name,
        queue: request.queue,
        maxRetries: request.maxRetries > 0 ? request.maxRetries : JOB_TYPE_DEFAULT_MAX_RETRIES,
        description: request.description,
        createdAt: at,
        updatedAt: at,
      });
      return { jobType };
    },

    async listJobTypes(request) {
      required('producer_id', request.producerId);
      return { jobTypes: [...store.listJobTypes(request.producerId)], nextPageToken: '' };
    },
  };
}
