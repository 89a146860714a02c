import { describe, expect, it } from 'vitest';
import { jobInput } from '../../test/support/job-input.js';
import { createRecordingBackend } from '../../test/support/recording-backend.js';
import { internalContext } from '../context.js';
import { JackError } from '../errors.js';
import { Queue } from '../gen/jack/storage.js';
import { createJobIdGenerator, decodeJobId } from '../jobid/job-id.js';
import { createLogger } from '../logger.js';
import { noopMetrics } from '../metrics.js';
import type { OutboundMessage } from '../queue/backend.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { createMemoryStore } from '../storage/memory.js';
import { createEnqueuer } from './enqueuer.js';
import { priorityOfQueue, UNREGISTERED_MAX_RETRIES } from './routing.js';

describe('priorityOfQueue', () => {
  it.each([
    [Queue.QUEUE_UNSPECIFIED, 'medium'],
    [Queue.QUEUE_IMMEDIATE, 'immediate'],
    [Queue.QUEUE_HIGH, 'high'],
    [Queue.QUEUE_MEDIUM, 'medium'],
    [Queue.QUEUE_LOW, 'low'],
    [Queue.UNRECOGNIZED, 'medium'],
    [9 as Queue, 'medium'],
  ])('Queue %i → %s', (queue, priority) => {
    expect(priorityOfQueue(queue)).toBe(priority);
  });
});

/** A scheduler of our own interface that keeps what it was given, or fails with `failure`. */
function recordingScheduler(failure?: JackError) {
  const scheduled: { message: OutboundMessage; runAt: Date }[] = [];
  const scheduler: Scheduler = {
    kind: 'recording',
    async schedule(message, runAt) {
      if (failure !== undefined) throw failure;
      scheduled.push({ message, runAt });
    },
    async cancel() {},
    async check() {},
    async close() {},
  };
  return { scheduler, scheduled };
}

const NOW = Date.parse('2026-11-22T10:00:00.000Z');
const THRESHOLD_MS = 60_000;

async function enqueuerWith(scheduler?: Scheduler) {
  const backend = createRecordingBackend();
  const store = await createMemoryStore({ logger: createLogger({ level: 'silent' }) });
  const enqueuer = createEnqueuer({
    config: {
      maxPayloadBytes: 1000,
      legacyPayloadQueueRouting: false,
      messageFormat: 'native',
      scheduleThresholdMs: THRESHOLD_MS,
    },
    store,
    backend,
    scheduler,
    ids: createJobIdGenerator(),
    metrics: noopMetrics,
    now: () => NOW,
  });
  return { enqueuer, backend, store };
}

describe('createEnqueuer', () => {
  it('stamps created_at (attribute and job id) with the clock, and run_at = created_at by default', async () => {
    const { enqueuer, backend } = await enqueuerWith();
    const { jobId } = await enqueuer.enqueue(jobInput(), internalContext());
    expect(backend.last().attributes).toMatchObject({
      created_at: '2026-11-22T10:00:00.000Z',
      run_at: '2026-11-22T10:00:00.000Z',
      max_retries: String(UNREGISTERED_MAX_RETRIES),
    });
    expect(decodeJobId(jobId).createdAt.getTime()).toBe(NOW);
  });

  it('routes by the store snapshot: a registered type uses its queue and max_retries', async () => {
    const { enqueuer, backend, store } = await enqueuerWith();
    const at = new Date(NOW);
    await store.createProducer({
      producerId: 'prod_1',
      name: 'one',
      description: '',
      rateLimitRps: 1000,
      principals: [],
      createdAt: at,
      updatedAt: at,
    });
    await store.createJobType({
      producerId: 'prod_1',
      name: 'type_1',
      queue: Queue.QUEUE_IMMEDIATE,
      maxRetries: 2,
      description: '',
      createdAt: at,
      updatedAt: at,
    });
    const { warnings } = await enqueuer.enqueue(jobInput(), internalContext({ shadow: true }));
    expect(warnings).toEqual([]);
    expect(backend.last().priority).toBe('immediate');
    expect(backend.last().attributes).toMatchObject({ max_retries: '2', shadow: 'true' });
  });

  describe('scheduling (SPEC §2.7)', () => {
    it.each([
      { offsetMs: THRESHOLD_MS, scheduled: true },
      { offsetMs: THRESHOLD_MS + 86_400_000, scheduled: true },
      { offsetMs: THRESHOLD_MS - 1, scheduled: false },
      { offsetMs: 0, scheduled: false },
      { offsetMs: -3_600_000, scheduled: false },
    ])('run_at = now + $offsetMs ms → scheduled: $scheduled', async ({ offsetMs, scheduled }) => {
      const { scheduler, scheduled: held } = recordingScheduler();
      const { enqueuer, backend } = await enqueuerWith(scheduler);
      const runAt = new Date(NOW + offsetMs);
      const { jobId } = await enqueuer.enqueue(jobInput({ runAt }), internalContext());
      if (scheduled) {
        expect(held.map((s) => [s.message.jobId, s.runAt])).toEqual([[jobId, runAt]]);
        expect(held[0]?.message.attributes.run_at).toBe(runAt.toISOString());
        expect(backend.published).toEqual([]);
      } else {
        expect(held).toEqual([]);
        expect(backend.last().jobId).toBe(jobId);
      }
    });

    it('publishes a future job at once, with its run_at, when there is no scheduler', async () => {
      const { enqueuer, backend } = await enqueuerWith(undefined);
      const runAt = new Date(NOW + 7 * 86_400_000);
      await enqueuer.enqueue(jobInput({ runAt }), internalContext());
      expect(backend.last().attributes.run_at).toBe(runAt.toISOString());
    });

    it('passes a scheduler refusal through with its code and reason', async () => {
      const refusal = new JackError('invalid_argument', 'run_at is beyond 30 days', {
        reason: 'validation_error',
      });
      const { scheduler } = recordingScheduler(refusal);
      const { enqueuer } = await enqueuerWith(scheduler);
      const runAt = new Date(NOW + 40 * 86_400_000);
      await expect(enqueuer.enqueue(jobInput({ runAt }), internalContext())).rejects.toBe(refusal);
    });

    it('in bulk, schedules future jobs, publishes the rest, and reports scheduler failures per job', async () => {
      const { scheduler, scheduled } = recordingScheduler();
      const { enqueuer, backend } = await enqueuerWith(scheduler);
      const future = new Date(NOW + 3_600_000);
      const outcomes = await enqueuer.enqueueMany(
        [jobInput({ runAt: future }), jobInput(), jobInput({ jobType: '' })],
        internalContext(),
      );
      expect(outcomes.map((o) => o.error?.message)).toEqual([
        undefined,
        undefined,
        'job_type is required',
      ]);
      expect(scheduled.map((s) => s.message.jobId)).toEqual([outcomes[0]?.jobId]);
      expect(backend.published.map((m) => m.jobId)).toEqual([outcomes[1]?.jobId]);

      const failing = await enqueuerWith(
        recordingScheduler(new JackError('unavailable', 'scheduler down')).scheduler,
      );
      const [failed, published] = await failing.enqueuer.enqueueMany(
        [jobInput({ runAt: future }), jobInput()],
        internalContext(),
      );
      expect(failed).toMatchObject({ jobId: '', error: { reason: 'unavailable' } });
      expect(published?.error).toBeUndefined();
      expect(failing.backend.published).toHaveLength(1);
    });
  });

  describe('a call cancelled before its job reaches the backend', () => {
    const cancelledContext = () => {
      const controller = new AbortController();
      controller.abort();
      return internalContext({ signal: controller.signal });
    };

    it('publishes nothing for Enqueue and answers CANCELLED', async () => {
      const { enqueuer, backend } = await enqueuerWith();
      await expect(enqueuer.enqueue(jobInput(), cancelledContext())).rejects.toMatchObject({
        code: 'cancelled',
      });
      expect(backend.published).toHaveLength(0);
    });

    it('publishes nothing for EnqueueBulk', async () => {
      const { enqueuer, backend } = await enqueuerWith();
      await expect(
        enqueuer.enqueueMany([jobInput(), jobInput()], cancelledContext()),
      ).rejects.toMatchObject({ code: 'cancelled' });
      expect(backend.published).toHaveLength(0);
    });
  });
});
