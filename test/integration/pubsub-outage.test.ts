/**
 * Issue 3, outages: with Pub/Sub gone, Enqueue answers UNAVAILABLE within
 * the publish timeout (never OK, never a hang) and health turns NOT_SERVING;
 * once Pub/Sub is back the same Jack publishes again and turns SERVING.
 * Uses a PRIVATE emulator, since stopping the shared one would break the
 * other test files.
 */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { skipWithoutEmulator } from '../support/emulator.js';
import { healthStatus, waitForHealth } from '../support/health-client.js';
import { call, callError } from '../support/jack.js';
import { OUTAGE_CLIENT_DEADLINE_MS, usePubSubOutage } from '../support/pubsub-outage.js';

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

describe.skipIf(skipWithoutEmulator())('Pub/Sub backend: outage and recovery', () => {
  const outage = usePubSubOutage();

  it('answers UNAVAILABLE and NOT_SERVING while Pub/Sub is down, recovers without a restart', async () => {
    const { jack, pubsub, stopPubSub, restartPubSub } = await outage.start();
    const before = await call(jack.jobs, 'enqueue', job('before'));

    await stopPubSub();

    for (const attempt of ['down-1', 'down-2']) {
      const err = await callError(
        call(jack.jobs, 'enqueue', job(attempt), {}, OUTAGE_CLIENT_DEADLINE_MS),
      );
      expect(err.code).toBe(status.UNAVAILABLE);
      expect(err.details).toMatch(/Pub\/Sub|publish/);
    }
    const bulk = await call(
      jack.jobs,
      'enqueueBulk',
      { jobs: [job('bulk-1'), job('bulk-2')] },
      {},
      OUTAGE_CLIENT_DEADLINE_MS,
    );
    expect(bulk.results.map((r) => [r.jobId, r.reason])).toEqual([
      ['', 'unavailable'],
      ['', 'unavailable'],
    ]);
    await waitForHealth(jack.address, 'NOT_SERVING', 'jack.BackgroundJobs');
    expect(await healthStatus(jack.address, '')).toBe('NOT_SERVING');

    await restartPubSub();

    await waitForHealth(jack.address, 'SERVING', 'jack.BackgroundJobs');
    expect(await healthStatus(jack.address, '')).toBe('SERVING');
    const after = await call(jack.jobs, 'enqueue', job('after'), {}, OUTAGE_CLIENT_DEADLINE_MS);
    expect(after.jobId).not.toBe('');

    const messages = await pubsub.pull('medium', 1);
    expect(messages.map((m) => m.attributes.job_id)).toEqual([after.jobId]);
    expect(before.jobId).not.toBe(after.jobId);
  }, 90_000); // two emulator starts (JVM) dominate
});
