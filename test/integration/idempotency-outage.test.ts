/**
 * SPEC §9, unknown outcome: with Pub/Sub gone a keyed Enqueue answers
 * UNAVAILABLE; the key keeps the job id it was given, so the retry after
 * recovery publishes under that same id (minted before the outage), and
 * consumers can de-duplicate by `job_id`. Uses a PRIVATE emulator, since
 * stopping the shared one would break the other test files.
 */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { decodeJobId } from '../../src/jobid/job-id.js';
import { skipWithoutEmulator } from '../support/emulator.js';
import { waitForHealth } from '../support/health-client.js';
import { call, callError, enqueueRequest } from '../support/jack.js';
import { OUTAGE_CLIENT_DEADLINE_MS, usePubSubOutage } from '../support/pubsub-outage.js';

describe.skipIf(skipWithoutEmulator())('idempotent enqueue: Pub/Sub outage', () => {
  const outage = usePubSubOutage();

  it('retries after UNAVAILABLE under the same job id, and only that id lands', async () => {
    const { jack, pubsub, stopPubSub, restartPubSub } = await outage.start(['medium']);
    const request = enqueueRequest({
      producerId: 'prod_outage',
      jobType: 'charge_card',
      payload: Buffer.from('{"amount":100}'),
      idempotencyKey: 'charge-42',
    });

    const outageStarted = Date.now();
    await stopPubSub();
    for (let attempt = 0; attempt < 2; attempt++) {
      const err = await callError(
        call(jack.jobs, 'enqueue', request, {}, OUTAGE_CLIENT_DEADLINE_MS),
      );
      expect(err.code).toBe(status.UNAVAILABLE);
    }
    // The job may exist: the key is not free for another request.
    const other = await callError(
      call(jack.jobs, 'enqueue', { ...request, payload: Buffer.from('{"amount":1}') }),
    );
    expect(other.code).toBe(status.ALREADY_EXISTS);

    await restartPubSub();
    await waitForHealth(jack.address, 'SERVING', 'jack.BackgroundJobs');
    const recovered = Date.now();

    const retry = await call(jack.jobs, 'enqueue', request, {}, OUTAGE_CLIENT_DEADLINE_MS);
    expect(retry.duplicate).toBe(false);
    // The id was minted by the first attempt, during the outage.
    const mintedAt = decodeJobId(retry.jobId).createdAt.getTime();
    expect(mintedAt).toBeGreaterThanOrEqual(outageStarted);
    expect(mintedAt).toBeLessThan(recovered);
    const messages = await pubsub.pull('medium', 1);
    expect(new Set(messages.map((m) => m.attributes.job_id))).toEqual(new Set([retry.jobId]));

    expect(await call(jack.jobs, 'enqueue', request)).toMatchObject({
      jobId: retry.jobId,
      duplicate: true,
    });
  }, 90_000); // two emulator starts (JVM) dominate
});
