import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { jobInput } from '../../test/support/job-input.js';
import { createRecordingBackend } from '../../test/support/recording-backend.js';
import { internalContext } from '../context.js';
import { JackError } from '../errors.js';
import { createIdempotency } from '../idempotency/idempotency.js';
import { createMemoryIdempotencyStore } from '../idempotency/memory.js';
import type { IdempotencyStore } from '../idempotency/store.js';
import { noopMetrics } from '../metrics.js';
import { createMemoryStore } from '../storage/memory.js';
import { createEnqueuer, type EnqueueInput } from './enqueuer.js';

const logger = pino({ level: 'silent' });

async function setup(
  store: IdempotencyStore = createMemoryIdempotencyStore({ maxKeys: 100 }),
  authorize?: (producerId: string) => void,
) {
  const backend = createRecordingBackend();
  const idempotency = createIdempotency({
    store,
    ttlMs: 3_600_000,
    leaseMs: 3_600_000,
    metrics: noopMetrics,
    logger,
  });
  let n = 0;
  const enqueuer = createEnqueuer({
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
    metrics: noopMetrics,
    authorize,
    idempotency,
  });
  return { enqueuer, backend, idempotency };
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

  it('EnqueueBulk cancelled as a whole releases its keys as Enqueue does: the retry is new', async () => {
    const { enqueuer, backend } = await setup();
    await expect(
      enqueuer.enqueueMany([input(), input({ idempotencyKey: 'other' })], cancelledContext()),
    ).rejects.toMatchObject({ code: 'cancelled' });
    // Nothing went out, so another request may use the keys now.
    const retry = await enqueuer.enqueueMany(
      [input({ payload: Buffer.from('[]') }), input({ idempotencyKey: 'other' })],
      internalContext(),
    );
    expect(retry.map((o) => [o.jobId, o.error?.code])).toEqual([
      ['pjob_3', undefined],
      ['pjob_4', undefined],
    ]);
    expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_3', 'pjob_4']);
  });

  it('EnqueueBulk: a repeat of a job refused before its key is claimed is checked on its own', async () => {
    const { enqueuer, backend } = await setup();
    const outcomes = await enqueuer.enqueueMany(
      [input({ jobType: '' }), input()],
      internalContext(),
    );
    expect(outcomes.map((o) => [o.jobId, o.error?.reason])).toEqual([
      ['', 'validation_error'],
      ['pjob_1', undefined],
    ]);
    expect(backend.published.map((m) => m.jobId)).toEqual(['pjob_1']);
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

/**
 * SPEC §9 within one EnqueueBulk: the second job with key `k` is answered as
 * if it came in a call after the first one's. The key is new, done (an
 * earlier call with payload A), or in flight elsewhere (a live claim, or one
 * whose publish had an unknown outcome); the second job's request is the
 * same as the first's or not; the first job is accepted or fails.
 */
describe('EnqueueBulk: a key used twice in one call', () => {
  const A = Buffer.from('{"a":1}');
  const B = Buffer.from('{"b":2}');
  type Row = [
    jobId: string,
    code: string | undefined,
    reason: string | undefined,
    duplicate: boolean,
  ];
  const row = (o: { jobId: string; error?: JackError; duplicate?: boolean }): Row => [
    o.jobId,
    o.error?.code,
    o.error?.reason,
    o.duplicate ?? false,
  ];
  const ok = (jobId: string): Row => [jobId, undefined, undefined, false];
  const duplicate = (jobId: string): Row => [jobId, undefined, undefined, true];
  const conflict: Row = ['', 'already_exists', 'idempotency_conflict', false];
  const inProgress: Row = ['', 'aborted', 'in_progress', false];
  const failed: Row = ['', 'internal', 'internal_error', false];

  type KeyState = 'new' | 'done' | 'in flight elsewhere' | 'unknown outcome elsewhere';
  const cases: [KeyState, first: Buffer, firstFails: boolean, second: Buffer, Row[], string[]][] = [
    // new key: the second job waits for the first to settle
    ['new', A, false, A, [ok('pjob_1'), duplicate('pjob_1')], ['pjob_1']],
    ['new', A, false, B, [ok('pjob_1'), conflict], ['pjob_1']],
    ['new', A, true, A, [failed, ok('pjob_2')], ['pjob_2']],
    ['new', A, true, B, [failed, ok('pjob_2')], ['pjob_2']],
    // done (A is pjob_1): the record decides for both
    ['done', A, false, A, [duplicate('pjob_1'), duplicate('pjob_1')], []],
    ['done', A, false, B, [duplicate('pjob_1'), conflict], []],
    ['done', B, true, B, [conflict, conflict], []],
    ['done', B, true, A, [conflict, duplicate('pjob_1')], []],
    // in flight in another call: in_progress for both, whatever they carry
    ['in flight elsewhere', A, true, A, [inProgress, inProgress], []],
    ['in flight elsewhere', A, true, B, [inProgress, inProgress], []],
    // the other call's publish had an unknown outcome (A, pjob_1): the first
    // job retries under its id, then the record decides for the second
    ['unknown outcome elsewhere', A, false, A, [ok('pjob_1'), duplicate('pjob_1')], ['pjob_1']],
    ['unknown outcome elsewhere', A, false, B, [ok('pjob_1'), conflict], ['pjob_1']],
    ['unknown outcome elsewhere', B, true, A, [conflict, ok('pjob_1')], ['pjob_1']],
  ];

  it.each(cases)(
    'key %s, first %#',
    async (state, first, firstFails, second, expected, published) => {
      const { enqueuer, backend, idempotency } = await setup();
      if (state === 'done') await enqueuer.enqueue(input({ payload: A }), internalContext());
      if (state === 'in flight elsewhere') {
        await idempotency.begin('prod_1', 'k', input({ payload: A }), () => 'pjob_other');
      }
      if (state === 'unknown outcome elsewhere') {
        backend.failWith = () => 'unavailable';
        await expect(enqueuer.enqueue(input({ payload: A }), internalContext())).rejects.toThrow();
      }
      backend.reset();
      // The first job of the call that reaches the backend fails definitely.
      let refusals = firstFails && state === 'new' ? 1 : 0;
      backend.failWith = () => (refusals-- > 0 ? 'internal' : undefined);
      const outcomes = await enqueuer.enqueueMany(
        [input({ payload: first }), input({ payload: second })],
        internalContext(),
      );
      expect(outcomes.map(row)).toEqual(expected);
      expect(backend.published.map((m) => m.jobId)).toEqual(published);
    },
  );
});
