/**
 * Issue 3, outages: with Pub/Sub gone, Enqueue answers UNAVAILABLE within
 * the publish timeout (never OK, never a hang) and health turns NOT_SERVING;
 * once Pub/Sub is back the same Jack publishes again and turns SERVING.
 * Uses a PRIVATE emulator, since stopping the shared one would break the
 * other test files.
 */
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { skipWithoutEmulator } from '../support/emulator.js';
import { healthStatus, waitForHealth } from '../support/health-client.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { type PubSubEmulator, startPubSubEmulator } from '../support/pubsub-emulator.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';

function job(correlationId: string): EnqueueRequest {
  return {
    producerId: 'prod_outage',
    jobType: 'send_email',
    payload: Buffer.from('{}'),
    runAt: undefined,
    traceId: '',
    correlationId,
    idempotencyKey: '',
  };
}

/** Well above PUBSUB_PUBLISH_TIMEOUT=1s: a call that hung would end DEADLINE_EXCEEDED instead. */
const CLIENT_DEADLINE_MS = 8_000;

describe.skipIf(skipWithoutEmulator())('Pub/Sub backend: outage and recovery', () => {
  const emulators: PubSubEmulator[] = [];
  let pubsub: PubSubFixture | undefined;
  let jack: RunningJack | undefined;
  afterEach(async () => {
    await jack?.close();
    await pubsub?.close();
    for (const emulator of emulators.splice(0)) await emulator.stop();
  });

  it('answers UNAVAILABLE and NOT_SERVING while Pub/Sub is down, recovers without a restart', async () => {
    const first = await startPubSubEmulator();
    emulators.push(first);
    pubsub = await createPubSubFixture(first.host);
    jack = await startJack({
      ...pubsub.env(),
      PUBSUB_PUBLISH_TIMEOUT: '1s',
      HEALTH_CHECK_INTERVAL: '200ms',
      LOG_LEVEL: 'info',
    });
    await waitForHealth(jack.address, 'SERVING', 'jack.BackgroundJobs');
    const before = await call(jack.jobs, 'enqueue', job('before'));

    await first.stop();

    for (const attempt of ['down-1', 'down-2']) {
      const err = await callError(call(jack.jobs, 'enqueue', job(attempt), {}, CLIENT_DEADLINE_MS));
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toMatch(/Pub\/Sub|publish/);
    }
    const bulk = await call(
      jack.jobs,
      'enqueueBulk',
      { jobs: [job('bulk-1'), job('bulk-2')] },
      {},
      CLIENT_DEADLINE_MS,
    );
    expect(bulk.results.map((r) => [r.jobId, r.reason])).toEqual([
      ['', 'unavailable'],
      ['', 'unavailable'],
    ]);
    await waitForHealth(jack.address, 'NOT_SERVING', 'jack.BackgroundJobs');
    expect(await healthStatus(jack.address, '')).toBe('NOT_SERVING');

    // Same port, so the running Jack finds it again; a fresh emulator has no
    // topics, so they are re-created as an operator would.
    const second = await startPubSubEmulator({ port: first.port });
    emulators.push(second);
    await pubsub.createTopics();

    await waitForHealth(jack.address, 'SERVING', 'jack.BackgroundJobs');
    expect(await healthStatus(jack.address, '')).toBe('SERVING');
    const after = await call(jack.jobs, 'enqueue', job('after'), {}, CLIENT_DEADLINE_MS);
    expect(after.jobId).not.toBe('');

    const messages = await pubsub.pull('medium', 1);
    expect(messages.map((m) => m.attributes.job_id)).toEqual([after.jobId]);
    expect(before.jobId).not.toBe(after.jobId);
  }, 90_000); // two emulator starts (JVM) dominate
});
