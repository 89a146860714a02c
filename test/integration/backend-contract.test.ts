/**
 * The Backend contract (test/contract/backend.contract.ts) for every queue
 * backend: noop, and Pub/Sub against the emulator.
 */
import { pino } from 'pino';
import { describe } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createNoopBackend } from '../../src/queue/noop.js';
import { createPubSubBackend, type PubSubBackendConfig } from '../../src/queue/pubsub.js';
import { describeBackendContract } from '../contract/backend.contract.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { createPubSubFixture } from '../support/pubsub-topics.js';

const silent = pino({ level: 'silent' });

describeBackendContract('noop', async () => ({
  open: async () => createNoopBackend(silent),
  dispose: async () => {},
}));

describe.skipIf(skipWithoutEmulator())('on the Pub/Sub emulator', () => {
  describeBackendContract('pubsub', async () => {
    const pubsub = await createPubSubFixture(pubsubEmulatorHost());
    const config = loadConfig(pubsub.env()).backend as PubSubBackendConfig;
    return {
      open: () => createPubSubBackend({ config, logger: silent }),
      delivered: async (priority, count) =>
        (await pubsub.pull(priority, count)).map((m) => m.attributes.job_id ?? ''),
      dispose: () => pubsub.close(),
    };
  });
});
