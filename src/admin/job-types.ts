/** SPEC §2/§10 job type rules: defaults, queue enum, field limits, masks, paging. */
import { JackError } from '../errors.js';
import { Queue } from '../gen/jack/storage.js';
import { required } from '../jobs/validate.js';
import type { JobType } from '../storage/store.js';
import { maskPaths } from './field-mask.js';
import { checkDescription, checkName } from './limits.js';
import { type Page, type PageRequest, paginate } from './page-token.js';
import type { AdminDeps } from './rules.js';

/** max_retries of a job type created (or updated) with max_retries ≤ 0 (SPEC §2). */
export const JOB_TYPE_DEFAULT_MAX_RETRIES = 3;

const VALID_QUEUES: ReadonlySet<number> = new Set([
  Queue.QUEUE_UNSPECIFIED,
  Queue.QUEUE_IMMEDIATE,
  Queue.QUEUE_HIGH,
  Queue.QUEUE_MEDIUM,
  Queue.QUEUE_LOW,
]);

const UPDATE_RULES = {
  record: 'JobType',
  updatable: ['queue', 'max_retries', 'description'] as const,
  fixed: ['producer_id', 'name', 'created_at', 'updated_at'],
};

function checkQueue(queue: number, field: string): void {
  if (!VALID_QUEUES.has(queue)) {
    throw new JackError('invalid_argument', `${field} ${queue} is not a valid Queue value (0-4)`);
  }
}

const maxRetries = (value: number) => (value > 0 ? value : JOB_TYPE_DEFAULT_MAX_RETRIES);

export function jobTypeRules(deps: AdminDeps) {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    async createJobType(request: {
      producerId: string;
      name: string;
      queue: number;
      maxRetries: number;
      description: string;
    }): Promise<JobType> {
      required('producer_id', request.producerId);
      required('name', request.name);
      checkName(request.name);
      checkDescription(request.description);
      checkQueue(request.queue, 'queue');
      const at = now();
      return store.createJobType({
        producerId: request.producerId,
        name: request.name,
        queue: request.queue,
        maxRetries: maxRetries(request.maxRetries),
        description: request.description,
        createdAt: at,
        updatedAt: at,
      });
    },

    getJobType(producerId: string, name: string): JobType {
      required('producer_id', producerId);
      required('name', name);
      const jobType = store.getJobType(producerId, name);
      if (jobType === undefined) {
        throw new JackError('not_found', `job type not found: ${name} (producer: ${producerId})`);
      }
      return jobType;
    },

    /** One producer's job types by name; an unknown producer has none. */
    listJobTypes(request: PageRequest & { producerId: string }): Page<JobType> {
      required('producer_id', request.producerId);
      return paginate(
        store.listJobTypes(request.producerId),
        request,
        `job_types/${request.producerId}`,
        (t) => [0, t.name],
      );
    },

    async updateJobType(request: {
      jobType?: JobType | undefined;
      updateMask?: readonly string[] | undefined;
    }): Promise<JobType> {
      const given = request.jobType;
      if (given === undefined) throw new JackError('invalid_argument', 'job_type is required');
      required('job_type.producer_id', given.producerId);
      required('job_type.name', given.name);
      const paths = maskPaths(request.updateMask, UPDATE_RULES);
      if (paths.has('queue')) checkQueue(given.queue, 'job_type.queue');
      if (paths.has('description')) checkDescription(given.description, 'job_type.description');
      const at = now();
      return store.updateJobType(given.producerId, given.name, (current) => ({
        ...current,
        ...(paths.has('queue') ? { queue: given.queue } : {}),
        ...(paths.has('max_retries') ? { maxRetries: maxRetries(given.maxRetries) } : {}),
        ...(paths.has('description') ? { description: given.description } : {}),
        updatedAt: at,
      }));
    },

    async deleteJobType(producerId: string, name: string): Promise<void> {
      required('producer_id', producerId);
      required('name', name);
      await store.deleteJobType(producerId, name);
    },
  };
}
