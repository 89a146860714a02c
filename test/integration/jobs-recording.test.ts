/**
 * Recording in the enqueue path (SPEC §14), through a real Jack: a job is
 * in the ledger (QUEUED, with its fields) as soon as Enqueue answered; a job
 * the backend refused is not; a duplicate (§9) writes nothing; EnqueueBulk
 * records each accepted job, in one batch.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JobState } from '../../src/gen/jack/jobs.js';
import { Queue } from '../../src/gen/jack/storage.js';
import type { AcceptedJob, LedgerStore } from '../../src/ledger/ledger.js';
import { createMemoryLedgerStore } from '../../src/ledger/memory.js';
import { healthStatus } from '../support/health-client.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createRecordingBackend, type RecordingBackend } from '../support/recording-backend.js';

/** The memory store, counting what the enqueue path writes; `down` makes its writes fail. */
function countingStore(): LedgerStore & { batches: AcceptedJob[][]; down: boolean } {
  const inner = createMemoryLedgerStore({ maxJobs: 1000 });
  const batches: AcceptedJob[][] = [];
  const store = Object.assign(Object.create(inner) as LedgerStore, {
    batches,
    down: false,
    recordAccepted(jobs: readonly AcceptedJob[]) {
      if (store.down) return Promise.reject(new Error('ledger down (test)'));
      batches.push([...jobs]);
      return inner.recordAccepted(jobs);
    },
  });
  return store;
}

describe('recording accepted jobs', () => {
  let jack: RunningJack;
  let backend: RecordingBackend;
  const store = countingStore();
  let producerId: string;

  beforeAll(async () => {
    backend = createRecordingBackend();
    jack = await startJack({}, { backend, ledger: store });
    const { producer } = await call(jack.admin, 'createProducer', {
      name: 'billing',
      description: '',
    });
    producerId = producer?.producerId as string;
    await call(jack.admin, 'createJobType', {
      producerId,
      name: 'send_invoice',
      queue: Queue.QUEUE_HIGH,
      maxRetries: 4,
      description: '',
    });
  });
  afterAll(async () => {
    await jack?.close();
  });
  beforeEach(() => {
    store.batches.length = 0;
    backend.failWith = () => undefined;
  });

  it('Enqueue: GetJob finds the job QUEUED, with its fields, as soon as the call answered', async () => {
    const { jobId } = await call(
      jack.jobs,
      'enqueue',
      enqueueRequest({
        producerId,
        jobType: 'send_invoice',
        payload: Buffer.from('{"invoice":42}'),
        traceId: 'trace-1',
        correlationId: 'corr-1',
      }),
      { shadow: 'true' },
    );
    const job = await call(jack.ledger, 'getJob', { jobId });
    expect(job).toMatchObject({
      jobId,
      producerId,
      jobType: 'send_invoice',
      queue: Queue.QUEUE_HIGH,
      state: JobState.JOB_STATE_QUEUED,
      maxRetries: 4,
      attempts: 0,
      traceId: 'trace-1',
      correlationId: 'corr-1',
      shadow: true,
      payloadBytes: 14,
    });
    expect(job.messageId).not.toBe('');
    expect(store.batches).toHaveLength(1);

    // A shadow job is listed only with include_shadow.
    const list = (includeShadow: boolean) =>
      call(jack.ledger, 'listJobs', {
        producerId,
        jobType: 'send_invoice',
        states: [],
        createdAfter: undefined,
        createdBefore: undefined,
        includeShadow,
        pageSize: 0,
        pageToken: '',
      });
    expect((await list(false)).jobs.map((j) => j.jobId)).not.toContain(jobId);
    expect((await list(true)).jobs.map((j) => j.jobId)).toContain(jobId);
  });

  it('records nothing for a job its backend refused', async () => {
    backend.failWith = () => 'unavailable';
    const before = store.batches.length;
    await callError(
      call(jack.jobs, 'enqueue', enqueueRequest({ producerId, jobType: 'send_invoice' })),
    );
    expect(store.batches.length).toBe(before);
  });

  it('a duplicate (idempotency key) writes nothing', async () => {
    const request = enqueueRequest({ producerId, jobType: 'send_invoice', idempotencyKey: 'k-1' });
    const first = await call(jack.jobs, 'enqueue', request);
    const second = await call(jack.jobs, 'enqueue', request);
    expect(second).toMatchObject({ jobId: first.jobId, duplicate: true });
    expect(store.batches.flat().map((j) => j.jobId)).toEqual([first.jobId]);
  });

  it('EnqueueBulk records each accepted job, in one batch; a refused one is not recorded', async () => {
    const res = await call(jack.jobs, 'enqueueBulk', {
      jobs: [
        enqueueRequest({ producerId, jobType: 'send_invoice' }),
        enqueueRequest({ producerId: '', jobType: 'send_invoice' }),
        enqueueRequest({ producerId, jobType: 'send_invoice', correlationId: 'third' }),
      ],
    });
    const accepted = res.results.filter((r) => r.jobId !== '').map((r) => r.jobId);
    expect(accepted).toHaveLength(2);
    expect(store.batches).toHaveLength(1);
    expect(store.batches[0]?.map((j) => j.jobId)).toEqual(accepted);
    for (const jobId of accepted) {
      expect((await call(jack.ledger, 'getJob', { jobId })).state).toBe(JobState.JOB_STATE_QUEUED);
    }
  });

  it('a ledger that cannot be written: Enqueue still OK, jack.Jobs NOT_SERVING until the record is written', async () => {
    store.down = true;
    try {
      const { jobId } = await call(
        jack.jobs,
        'enqueue',
        enqueueRequest({ producerId, jobType: 'send_invoice' }),
      );
      expect(jobId).toMatch(/^pjob_/);
      await expect
        .poll(() => healthStatus(jack.address, 'jack.Jobs'), { timeout: 5_000 })
        .toBe('NOT_SERVING');
      // The queue is the truth: BackgroundJobs and the server stay SERVING.
      expect(await healthStatus(jack.address, 'jack.BackgroundJobs')).toBe('SERVING');
      store.down = false;
      await expect
        .poll(() => healthStatus(jack.address, 'jack.Jobs'), { timeout: 10_000 })
        .toBe('SERVING');
      // Written from the buffer once the ledger was back.
      expect((await call(jack.ledger, 'getJob', { jobId })).state).toBe(JobState.JOB_STATE_QUEUED);
    } finally {
      store.down = false;
    }
  });
});
