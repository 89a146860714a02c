import type { Logger } from 'pino';
import type { SchedulerConfig } from '../config.js';
import { JackError } from '../errors.js';
import type { PubSubBackendConfig } from '../queue/pubsub.js';
import type { Scheduler } from './scheduler.js';

export type CloudTasksConfig = Extract<SchedulerConfig, { kind: 'cloud-tasks' }>;

export interface CloudTasksSchedulerOptions {
  config: CloudTasksConfig;
  /** Topics and project the fired task publishes to. */
  pubsub: PubSubBackendConfig;
  logger: Logger;
}

/** Cloud Tasks scheduler. TODO(issue 5): being written. */
export async function createCloudTasksScheduler(
  _options: CloudTasksSchedulerOptions,
): Promise<Scheduler> {
  throw new JackError('failed_precondition', 'CLOUD_TASKS_* scheduling is not implemented yet');
}
