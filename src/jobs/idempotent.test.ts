import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { jobInput } from '../../test/support/job-input.js';
import { createRecordingBackend } from '../../test/support/recording-backend.js';
import { internalContext } from '../context.js';
import { JackError } from '../errors.js';
import { createIdempotency, fingerprintOf } from '../idempotency/idempotency.js';
import { createMemoryIdempotencyStore } from '../idempotency/memory.js';
import { entryKey, type IdempotencyStore } from '../idempotency/store.js';
import { type JobOutcome, type Metrics, noopMetrics } from '../metrics.js';
import { createMemoryStore } from '../storage/memory.js';
import { createEnqueuer } from './enqueuer.js';
import { withIdempotency } from './idempotent.js';
import type { EnqueueInput, EnqueueOutcome } from './types.js';

const logger = pino({ level: 'silent' });

async function setup(
  store: IdempotencyStore = createMemoryIdempotencyStore({ maxKeys: 100 }),
  authorize?: (producerId: string) => void,
  metrics: Metrics = noopMetrics,
) {
  const backend = createRecordingBackend();
  let n = 0;
  const path = createEnqueuer({
    config: {
      maxPayloadBytes: 1000,
      legacyPayloadQueueRouting: false,
      messageFormat: 'native',
      scheduleThresholdMs: 60_000,
    },
    store: await createMemoryStore({ logger }),
    backend,
    scheduler: undefined,
    ids: { next: () => `pjob_${++n}` },
    metrics,
    authorize,
  });
  // Composed as app.ts composes it.
  const enqueuer = withIdempotency(path, {
    idempotency: createIdempotency({
      store,
      ttlMs: 3_600_000,
      leaseMs: 3_600_000,
      metrics: noopMetrics,
      logger,
    }),
    metrics,
  });
  return { enqueuer, backend };
}

function input(fields: Partial<EnqueueInput> = {}): EnqueueInput {
  return jobInput({ idempotencyKey: 'k', ...fields });
}

const cancelledContext = () => {
  const controller = new AbortController();
  controller.abort();
  return internalContext({ signal: controller.signal });
};

describe('enqueuer with idempotency keys', () => {
  it('publishes under the claimed job id and answers a repeat without publishing', async () => {
    const { enqueuer, backend } = await setup();
    const first = await enqueuer.enqueue(input(), internalContext());
    expect(first).toEqual({ jobId: 'pjob_1', warnings: expect.any(Array) });
    expect(await enqueuer.enqueue(input(), internalContext())).toEqual({
      jobId: 'pjob_1',
      warnings: [],
      duplicate: true,
    });
    expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_1']);
  });

  it('authorizes before the key is looked at: no job id leaks to another producer', async () => {
    let allowed = 'prod_1';
    const { enqueuer } = await setup(undefined, (producerId) => {
      if (producerId !== allowed) throw new JackError('permission_denied', 'not yours');
    });
    await enqueuer.enqueue(input(), internalContext());
    allowed = 'prod_2';
    await expect(enqueuer.enqueue(input(), internalContext())).rejects.toMatchObject({
      code: 'permission_denied',
    });
    const [outcome] = await enqueuer.enqueueMany([input()], internalContext());
    expect(outcome).toMatchObject({ jobId: '', error: { code: 'permission_denied' } });
  });

  it('never touches the key store for a job without a key', async () => {
    const broken: IdempotencyStore = {
      ...createMemoryIdempotencyStore({ maxKeys: 1 }),
      claim: () => Promise.reject(new Error('store down')),
    };
    const { enqueuer } = await setup(broken);
    const plain = input({ idempotencyKey: '' });
    await expect(enqueuer.enqueue(plain, internalContext())).resolves.toMatchObject({
      jobId: 'pjob_1',
    });
    const outcomes = await enqueuer.enqueueMany(
      [plain, input({ idempotencyKey: undefined })],
      internalContext(),
    );
    expect(outcomes.map((o) => o.error)).toEqual([undefined, undefined]);
    await expect(enqueuer.enqueue(input(), internalContext())).rejects.toMatchObject({
      code: 'unavailable',
    });
  });

  it('releases the key of a call cancelled before publishing: the next call is new', async () => {
    const { enqueuer, backend } = await setup();
    await expect(enqueuer.enqueue(input(), cancelledContext())).rejects.toMatchObject({
      code: 'cancelled',
    });
    // A different request may use the key now.
    const next = await enqueuer.enqueue(input({ payload: Buffer.from('[]') }), internalContext());
    expect(next.jobId).toBe('pjob_2');
    expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_2']);
  });

  it('after an unknown outcome, publishes the retry under the same job id', async () => {
    const { enqueuer, backend } = await setup();
    backend.failWith = () => 'unavailable';
    await expect(enqueuer.enqueue(input(), internalContext())).rejects.toMatchObject({
      code: 'unavailable',
    });
    backend.failWith = () => undefined;
    const retry = await enqueuer.enqueue(input(), internalContext());
    expect(retry.jobId).toBe('pjob_1');
    expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_1']);
  });

  it('EnqueueBulk cancelled before publishing releases its keys, as Enqueue does', async () => {
    const { enqueuer, backend } = await setup();
    await expect(
      enqueuer.enqueueMany([input(), input({ idempotencyKey: 'other' })], cancelledContext()),
    ).rejects.toMatchObject({ code: 'cancelled' });
    // A different request may use the keys now: each is a new job.
    const next = await enqueuer.enqueueMany(
      [input({ payload: Buffer.from('[]') }), input({ idempotencyKey: 'other' })],
      internalContext(),
    );
    expect(next.map((o) => [o.jobId, o.error?.reason])).toEqual([
      ['pjob_3', undefined],
      ['pjob_4', undefined],
    ]);
    expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_3', 'pjob_4']);
  });

  it('records each job of EnqueueBulk once, cancelled or not', async () => {
    const finished: JobOutcome[] = [];
    const metrics: Metrics = {
      ...noopMetrics,
      jobFinished: (_, outcome) => finished.push(outcome),
    };
    const { enqueuer, backend } = await setup(undefined, undefined, metrics);
    const batch = [input(), input({ idempotencyKey: '' }), input({ idempotencyKey: 'b' })];
    await expect(enqueuer.enqueueMany(batch, cancelledContext())).rejects.toMatchObject({
      code: 'cancelled',
    });
    expect(finished).toEqual(['refused', 'refused', 'refused']);

    finished.length = 0;
    backend.failWith = (m) => (m.jobId === 'pjob_6' ? 'internal' : undefined);
    const outcomes = await enqueuer.enqueueMany(
      [...batch, input({ idempotencyKey: 'c', jobType: '' }), input()],
      internalContext(),
    );
    expect(outcomes.map((o) => o.error?.reason ?? (o.duplicate ? 'duplicate' : 'ok'))).toEqual([
      'ok',
      'internal_error',
      'ok',
      'validation_error',
      'duplicate',
    ]);
    // A duplicate is answered by its key and is no job of its own.
    expect(finished.sort()).toEqual(['failed', 'published', 'published', 'refused']);
  });

  it('checks a keyed job once: before its key is looked at, not again on the way out', async () => {
    const checked: string[] = [];
    const { enqueuer } = await setup(undefined, (producerId) => {
      checked.push(producerId);
    });
    await enqueuer.enqueue(input(), internalContext());
    expect(checked).toEqual(['prod_1']);
    await enqueuer.enqueueMany([input({ idempotencyKey: 'b' })], internalContext());
    expect(checked).toEqual(['prod_1', 'prod_1']);
  });

  describe('EnqueueBulk: a key repeated in one call is answered as if the calls were sequential', () => {
    const A = input();
    const B = input({ payload: Buffer.from('[]') });
    const answers = (outcomes: EnqueueOutcome[]) =>
      outcomes.map((o) => [o.jobId, o.duplicate ?? false, o.error?.reason]);

    /** The key was used before this call and that job was accepted (with request A). */
    async function keyDone() {
      const setupResult = await setup();
      expect(await setupResult.enqueuer.enqueue(A, internalContext())).toMatchObject({
        jobId: 'pjob_1',
      });
      return setupResult;
    }

    it('key done, repeat of the stored request: both are duplicates of the original', async () => {
      const { enqueuer } = await keyDone();
      expect(answers(await enqueuer.enqueueMany([A, A], internalContext()))).toEqual([
        ['pjob_1', true, undefined],
        ['pjob_1', true, undefined],
      ]);
    });

    it('key done, earlier conflicts, repeat is the stored request: a duplicate, not in_progress', async () => {
      const { enqueuer, backend } = await keyDone();
      expect(answers(await enqueuer.enqueueMany([B, A], internalContext()))).toEqual([
        ['', false, 'idempotency_conflict'],
        ['pjob_1', true, undefined],
      ]);
      expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_1']);
    });

    it('key done, earlier is a duplicate, repeat differs: a conflict', async () => {
      const { enqueuer } = await keyDone();
      expect(answers(await enqueuer.enqueueMany([A, B], internalContext()))).toEqual([
        ['pjob_1', true, undefined],
        ['', false, 'idempotency_conflict'],
      ]);
    });

    it('key done, both differ from the stored request: two conflicts', async () => {
      const { enqueuer } = await keyDone();
      expect(answers(await enqueuer.enqueueMany([B, B], internalContext()))).toEqual([
        ['', false, 'idempotency_conflict'],
        ['', false, 'idempotency_conflict'],
      ]);
    });

    it('new key, earlier accepted: the same request is its duplicate, another a conflict', async () => {
      const { enqueuer, backend } = await setup();
      expect(answers(await enqueuer.enqueueMany([A, A, B], internalContext()))).toEqual([
        ['pjob_1', false, undefined],
        ['pjob_1', true, undefined],
        ['', false, 'idempotency_conflict'],
      ]);
      expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_1']);
    });

    it('new key, earlier failed definitely: the same request is tried again as a new job', async () => {
      const { enqueuer, backend } = await setup();
      backend.failWith = (m) => (m.jobId === 'pjob_1' ? 'internal' : undefined);
      expect(answers(await enqueuer.enqueueMany([A, A], internalContext()))).toEqual([
        ['', false, 'internal_error'],
        ['pjob_2', false, undefined],
      ]);
      expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_2']);
    });

    it('new key, earlier failed definitely: a different request becomes a new job', async () => {
      const { enqueuer, backend } = await setup();
      backend.failWith = (m) => (m.jobId === 'pjob_1' ? 'internal' : undefined);
      expect(answers(await enqueuer.enqueueMany([A, B, A], internalContext()))).toEqual([
        ['', false, 'internal_error'],
        ['pjob_2', false, undefined],
        ['', false, 'idempotency_conflict'],
      ]);
      expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_2']);
    });

    it('new key, earlier refused by validation: a valid repeat is a new job', async () => {
      const { enqueuer } = await setup();
      expect(
        answers(await enqueuer.enqueueMany([input({ jobType: '' }), A], internalContext())),
      ).toEqual([
        ['', false, 'validation_error'],
        ['pjob_1', false, undefined],
      ]);
    });

    it('key in flight in another call: every use in this call is in_progress', async () => {
      const store = createMemoryIdempotencyStore({ maxKeys: 100 });
      const { enqueuer, backend } = await setup(store);
      const other = await store.claim({
        key: entryKey('prod_1', 'k'),
        fingerprint: fingerprintOf(A),
        jobId: 'other_1',
        leaseMs: 3_600_000,
        ttlMs: 3_600_000,
      });
      expect(other.kind).toBe('claimed');
      for (const batch of [
        [A, A],
        [A, B],
        [B, A],
        [B, B],
      ]) {
        expect(answers(await enqueuer.enqueueMany(batch, internalContext()))).toEqual([
          ['', false, 'in_progress'],
          ['', false, 'in_progress'],
        ]);
      }
      expect(backend.published).toEqual([]);
    });

    it('key in flight in another call that then completes: the repeat is answered by its record', async () => {
      const store = createMemoryIdempotencyStore({ maxKeys: 100 });
      const other = await store.claim({
        key: entryKey('prod_1', 'k'),
        fingerprint: fingerprintOf(A),
        jobId: 'other_1',
        leaseMs: 3_600_000,
        ttlMs: 3_600_000,
      });
      if (other.kind !== 'claimed') throw new Error('expected a claim');
      // The first use is answered in_progress; the other call completes
      // before the second use reaches the store.
      const completing: IdempotencyStore = {
        ...store,
        kind: store.kind,
        claim: async (request) => {
          const result = await store.claim(request);
          if (result.kind === 'pending') await store.complete(request.key, other.token, 3_600_000);
          return result;
        },
      };
      const { enqueuer } = await setup(completing);
      expect(answers(await enqueuer.enqueueMany([A, A], internalContext()))).toEqual([
        ['', false, 'in_progress'],
        ['other_1', true, undefined],
      ]);
    });
  });

  it('EnqueueBulk: jobs with and without keys share one batch, in request order', async () => {
    const { enqueuer, backend } = await setup();
    const outcomes = await enqueuer.enqueueMany(
      [input({ idempotencyKey: '' }), input(), input({ idempotencyKey: '' }), input()],
      internalContext(),
    );
    // The keyed job's id is minted when its key is claimed, before the batch.
    expect(outcomes.map((o) => [o.jobId, o.duplicate ?? false])).toEqual([
      ['pjob_2', false],
      ['pjob_1', false],
      ['pjob_3', false],
      ['pjob_1', true],
    ]);
    expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_2', 'pjob_1', 'pjob_3']);
  });
});
