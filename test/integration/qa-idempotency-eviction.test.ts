/**
 * QA of SPEC §9 on the in-process key store: "two publishes of one key
 * never happen concurrently" must hold also when the store is full
 * (IDEMPOTENCY_MAX_KEYS) and evicts its least recently used keys while a
 * call with a key is still in flight.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/queue/backend.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createRecordingBackend, type RecordingBackend } from '../support/recording-backend.js';

describe('QA §9: a full in-process key store while a keyed call is in flight', () => {
  let jack: RunningJack;
  let recording: RecordingBackend;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let heldStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    heldStarted = resolve;
  });

  beforeAll(async () => {
    recording = createRecordingBackend();
    // Jobs of type `slow` wait at the broker until the test opens the gate.
    const backend: Backend = {
      ...recording,
      async publish(message) {
        if (message.attributes.job_type === 'slow') {
          heldStarted();
          await gate;
        }
        return recording.publish(message);
      },
      publishMany(messages) {
        return Promise.allSettled(messages.map((m) => backend.publish(m)));
      },
    };
    jack = await startJack({ IDEMPOTENCY_MAX_KEYS: '10', LOG_LEVEL: 'warn' }, { backend });
  });
  afterAll(async () => {
    open();
    await jack?.close();
  });

  it('answers ABORTED (bulk: in_progress) for the in-flight key after twenty other keys, and publishes it once', async () => {
    const held = enqueueRequest({ producerId: 'prod_q', jobType: 'slow', idempotencyKey: 'held' });
    const first = call(jack.jobs, 'enqueue', held);
    await started;
    for (let i = 0; i < 20; i++) {
      await call(
        jack.jobs,
        'enqueue',
        enqueueRequest({ producerId: 'prod_q', jobType: 'fast', idempotencyKey: `k${i}` }),
      );
    }
    expect(await callError(call(jack.jobs, 'enqueue', held, {}, 2_000))).toEqual({
      code: status.ABORTED,
      details: 'a call with this idempotency key is in progress',
    });
    // In a bulk call the same key fails alone with reason in_progress.
    const { results } = await call(jack.jobs, 'enqueueBulk', {
      jobs: [held, enqueueRequest({ producerId: 'prod_q', jobType: 'fast', correlationId: 'x' })],
    });
    expect(results.map((r) => [r.reason, r.error, r.jobId === ''])).toEqual([
      ['in_progress', 'a call with this idempotency key is in progress', true],
      ['', '', false],
    ]);
    open();
    const { jobId } = await first;
    // A later repeat is a duplicate of the one job.
    expect(await call(jack.jobs, 'enqueue', held)).toMatchObject({ jobId, duplicate: true });
    const slow = recording.published.filter((m) => m.attributes.job_type === 'slow');
    expect(slow.map((m) => m.jobId)).toEqual([jobId]);
  });
});
