import { describe, expect, it } from 'vitest';
import { Queue } from '../gen/jack/storage.js';
import { type Metrics, noopMetrics } from '../metrics.js';
import { type AcceptedJob, JobState } from './ledger.js';
import { createMemoryLedgerStore } from './memory.js';

function job(n: number): AcceptedJob {
  return {
    jobId: `job-${n}`,
    producerId: 'p',
    jobType: 't',
    queue: Queue.QUEUE_IMMEDIATE,
    state: JobState.JOB_STATE_QUEUED,
    createdAt: new Date(1_000_000 + n * 1000),
    runAt: undefined,
    maxRetries: 3,
    traceId: '',
    correlationId: '',
    shadow: false,
    messageId: '',
    payloadBytes: 1,
  };
}

const ALL = {
  producerId: undefined,
  jobType: undefined,
  states: [],
  createdAfter: undefined,
  createdBefore: undefined,
  includeShadow: true,
  after: undefined,
};

describe('memory ledger store', () => {
  it('keeps at most maxJobs records, forgetting the oldest first', async () => {
    const store = createMemoryLedgerStore({ maxJobs: 3 });
    await store.recordAccepted([job(1), job(2), job(3)]);
    await store.recordAccepted([job(4)]);
    expect(await store.get('job-1')).toBeUndefined();
    for (const n of [2, 3, 4]) expect(await store.get(`job-${n}`)).toBeDefined();
  });

  it('evicts oldest first across retention deletes, an emptied table and a refill', async () => {
    const store = createMemoryLedgerStore({ maxJobs: 3 });
    const ids = async () =>
      (await store.list({ ...ALL, limit: 10 })).jobs.map((j) => j.jobId).sort();
    // job-20 is the oldest record but the newest job; retention takes job-2 after it.
    await store.recordAccepted([job(20), job(2), job(3)]);
    expect(await store.deleteExpired(new Date(1_000_000 + 2500), 10)).toBe(1);
    await store.recordAccepted([job(4), job(5)]);
    expect(await ids()).toEqual(['job-3', 'job-4', 'job-5']);
    // Everything expires; the table refills and evicts its own oldest.
    expect(await store.deleteExpired(new Date(2_000_000), 10)).toBe(3);
    await store.recordAccepted([job(7), job(8), job(9), job(10)]);
    expect(await ids()).toEqual(['job-10', 'job-8', 'job-9']);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => createMemoryLedgerStore({ maxJobs: 0 })).toThrow(/positive integer/);
  });

  it('counts transitions and the pickup latency of a first RUNNING', async () => {
    const seen: string[] = [];
    const metrics: Metrics = {
      ...noopMetrics,
      jobTransition: (state) => seen.push(state),
      jobPickedUp: (priority, seconds) => seen.push(`${priority}:${seconds}`),
    };
    const store = createMemoryLedgerStore({ maxJobs: 10, metrics });
    await store.recordAccepted([job(1)]);
    await store.recordAccepted([job(1)]);
    const report = {
      jobId: 'job-1',
      producerId: 'p',
      jobType: 't',
      state: JobState.JOB_STATE_RUNNING,
      attempt: 1,
      error: '',
      worker: 'w',
      queue: Queue.QUEUE_IMMEDIATE,
    };
    await store.report(report, new Date(1_000_000 + 1000 + 2500));
    await store.report(report, new Date(1_000_000 + 1000 + 9000));
    expect(seen).toEqual(['queued', 'running', 'immediate:2.5']);
  });

  it('keeps listeners apart: one that throws does not stop the others', async () => {
    const store = createMemoryLedgerStore({ maxJobs: 10 });
    const heard: string[] = [];
    store.onChange(() => {
      throw new Error('listener failed');
    });
    store.onChange((id) => heard.push(id));
    await store.recordAccepted([job(1)]);
    expect(heard).toEqual(['job-1']);
  });
});
