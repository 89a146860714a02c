/**
 * `<package>/worker` (SPEC §15): consume Jack's lanes, run a handler per
 * job type, settle and report each job.
 */
export { decodePayload, type Job, NonRetryableError, PRIORITIES, type Priority } from './job.js';
export {
  type CreateLaneOptions,
  type Delivery,
  type LaneOptions,
  type LaneSource,
  LaneUnusableError,
  type WorkerBackend,
} from './lane-source.js';
export { type NatsBackendOptions, natsBackend } from './nats.js';
export { jobTypeFilter, type PubSubBackendOptions, pubsubBackend } from './pubsub.js';
export {
  createWorker,
  type Handler,
  type HandlerSpec,
  JobTimeoutError,
  type Worker,
  type WorkerLogger,
  type WorkerOptions,
  type WorkerStats,
} from './worker.js';
