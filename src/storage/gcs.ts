import type { Logger } from 'pino';
import type { StoreConfig } from '../config.js';
import { JackError } from '../errors.js';
import type { Store } from './store.js';

export type GcsStoreConfig = Extract<StoreConfig, { kind: 'gcs' }>;

export interface GcsStoreOptions {
  config: GcsStoreConfig;
  logger: Logger;
  refreshIntervalMs: number;
  onRefresh?: (error: Error | undefined) => void;
}

/** GCS config store. TODO(issue 4): being written. */
export async function createGcsStore(_options: GcsStoreOptions): Promise<Store> {
  throw new JackError('failed_precondition', 'GCS_BUCKET is not implemented yet');
}
