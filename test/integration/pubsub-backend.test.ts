/**
 * The Pub/Sub backend on its own (no gRPC): what `close()` and flow control
 * promise beyond the shared Backend contract.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { isJackError } from '../../src/errors.js';
import type { Backend } from '../../src/queue/backend.js';
import { createPubSubBackend } from '../../src/queue/pubsub/backend.js';
import type { PubSubBackendConfig } from '../../src/queue/pubsub/topics.js';
import { outbound } from '../contract/backend.contract.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';

const silent = pino({ level: 'silent' });

describe.skipIf(skipWithoutEmulator())('Pub/Sub backend: close and flow control', () => {
  let pubsub: PubSubFixture | undefined;
  let backend: Backend | undefined;
  afterEach(async () => {
    await backend?.close();
    await pubsub?.close();
  });

  async function open(env: Record<string, string>): Promise<Backend> {
    pubsub = await createPubSubFixture(pubsubEmulatorHost());
    const config = loadConfig({ ...pubsub.env(), ...env }).backend as PubSubBackendConfig;
    backend = await createPubSubBackend({ config, logger: silent });
    return backend;
  }

  it('close() sends a partly filled batch at once instead of after its delay', async () => {
    // The low batch would wait 60 s; the publish timeout allows it, the test
    // timeout does not: only a flush on close lets this finish.
    const b = await open({ PUBSUB_BATCH_MAX_DELAY_LOW: '60s', PUBSUB_PUBLISH_TIMEOUT: '120s' });
    const messages = [outbound('low'), outbound('low'), outbound('low')];
    const published = b.publishMany(messages);
    await b.close();
    const results = await published;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    const received = await pubsub?.pull('low', 3);
    expect(received?.map((m) => m.attributes.job_id).sort()).toEqual(
      messages.map((m) => m.jobId).sort(),
    );
  });

  it('refuses to publish after close with UNAVAILABLE', async () => {
    const b = await open({});
    await b.close();
    const err = await b.publish(outbound('high')).catch((e: unknown) => e);
    expect(isJackError(err, 'unavailable')).toBe(true);
  });

  it('flow control admits messages as earlier ones finish: all are delivered', async () => {
    const b = await open({
      PUBSUB_MAX_OUTSTANDING_MESSAGES: '2',
      PUBSUB_MAX_OUTSTANDING_BYTES: '64',
    });
    const messages = Array.from({ length: 40 }, (_, i) => outbound('high', `{"i":${i}}`));
    const results = await b.publishMany(messages);
    expect(results.filter((r) => r.status !== 'fulfilled')).toEqual([]);
    const received = await pubsub?.pull('high', 40);
    expect(new Set(received?.map((m) => m.attributes.job_id))).toEqual(
      new Set(messages.map((m) => m.jobId)),
    );
  });
});
