/**
 * SPEC §6: a publish that Pub/Sub refuses (here: its topic was deleted)
 * answers the client with a message of Jack's own, without the topic's
 * resource name or the library's text; the log line carries the cause.
 */
import { PubSub } from '@google-cloud/pubsub';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { emulatorClientOptions } from '../support/pubsub-emulator.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';

const job = () =>
  enqueueRequest({ producerId: 'prod_errors', jobType: 'resize', payload: Buffer.from('{}') });

describe.skipIf(skipWithoutEmulator())('Pub/Sub backend: errors the client sees', () => {
  let pubsub: PubSubFixture | undefined;
  let jack: RunningJack | undefined;
  afterEach(async () => {
    await jack?.close();
    await pubsub?.close();
  });

  it('a deleted topic: INTERNAL with no topic name or library text, the cause in the log', async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost());
    jack = await startJack({ ...pubsub.env(), LOG_LEVEL: 'info' });
    const admin = new PubSub(emulatorClientOptions(pubsub.project, pubsub.host));
    try {
      await admin.topic(pubsub.topics.medium).delete();
    } finally {
      await admin.close();
    }

    const err = await callError(call(jack.jobs, 'enqueue', job()));
    expect(err).toEqual({
      code: status.INTERNAL,
      details: 'Pub/Sub refused the job: it was not enqueued (the cause is logged)',
    });
    const bulk = await call(jack.jobs, 'enqueueBulk', { jobs: [job()] });
    expect(bulk.results.map((r) => [r.reason, r.error])).toEqual([
      ['internal_error', 'Pub/Sub refused the job: it was not enqueued (the cause is logged)'],
    ]);

    const failed = jack.logs.find((l) => l.msg === 'call failed' && l.method === 'Enqueue');
    // The operator's line has what the client does not: topic and library text.
    expect(JSON.stringify(failed)).toContain(`topics/${pubsub.topics.medium}`);
    expect(JSON.stringify(failed)).toMatch(/NOT_FOUND|not found/i);
  }, 60_000);
});
