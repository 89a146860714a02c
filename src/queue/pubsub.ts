import type { Logger } from 'pino';
import type { BackendConfig } from '../config.js';
import { JackError } from '../errors.js';
import type { Backend } from './backend.js';

export type PubSubBackendConfig = Extract<BackendConfig, { kind: 'pubsub' }>;

export interface PubSubBackendOptions {
  config: PubSubBackendConfig;
  logger: Logger;
}

/** Google Cloud Pub/Sub backend. TODO(issue 3): being written. */
export async function createPubSubBackend(_options: PubSubBackendOptions): Promise<Backend> {
  throw new JackError('failed_precondition', 'QUEUE_BACKEND=pubsub is not implemented yet');
}
