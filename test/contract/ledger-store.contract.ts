/**
 * The behaviour every job ledger store must have (src/ledger/ledger.ts).
 * Each medium's test calls `describeLedgerStoreContract` with a fixture that
 * opens stores on one fresh backing (for PostgreSQL: one database); for a
 * shared medium two stores of one fixture stand for two replicas.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import {
  type AcceptedJob,
  type Job,
  type JobReport,
  JobState,
  type LedgerStore,
  type ListJobsQuery,
} from '../../src/ledger/ledger.js';

export interface LedgerStoreFixture {
  /** A store on the fixture's backing (each call: another replica). */
  open(): Promise<LedgerStore>;
  dispose(): Promise<void>;
}

const S = JobState;
const T0 = new Date('2026-03-01T12:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

let counter = 0;
export function acceptedJob(overrides: Partial<AcceptedJob> = {}): AcceptedJob {
  counter += 1;
  return {
    jobId: `job-${process.pid}-${counter}`,
    producerId: 'billing',
    jobType: 'invoice.email',
    queue: Queue.QUEUE_HIGH,
    state: S.JOB_STATE_QUEUED,
    createdAt: at(counter),
    runAt: at(counter),
    maxRetries: 2,
    traceId: 'trace-1',
    correlationId: 'corr-1',
    shadow: false,
    messageId: `m-${counter}`,
    payloadBytes: 42,
    ...overrides,
  };
}

function reportOf(
  job: Pick<AcceptedJob, 'jobId' | 'producerId' | 'jobType' | 'queue'>,
  state: JobState,
  attempt: number,
  overrides: Partial<JobReport> = {},
): JobReport {
  return {
    jobId: job.jobId,
    producerId: job.producerId,
    jobType: job.jobType,
    queue: job.queue,
    state,
    attempt,
    error: '',
    worker: 'worker-1',
    ...overrides,
  };
}

const everything: ListJobsQuery = {
  producerId: undefined,
  jobType: undefined,
  states: [],
  createdAfter: undefined,
  createdBefore: undefined,
  includeShadow: true,
  limit: 1000,
  after: undefined,
};

/** Resolves once `condition` holds; fails after `timeoutMs`. */
async function eventually(condition: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function describeLedgerStoreContract(
  name: string,
  /** True when two stores of one fixture share their records (replicas). */
  shared: boolean,
  makeFixture: () => Promise<LedgerStoreFixture>,
) {
  describe(`ledger store contract: ${name}`, () => {
    let fixture: LedgerStoreFixture;
    let store: LedgerStore;
    const opened: LedgerStore[] = [];
    const open = async () => {
      const s = await fixture.open();
      opened.push(s);
      return s;
    };
    beforeEach(async () => {
      fixture = await makeFixture();
      store = await open();
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await fixture.dispose();
    });

    it('says what it is', () => {
      expect(store.shared).toBe(shared);
      expect(['memory', 'postgres']).toContain(store.kind);
    });

    it('records accepted jobs with every field, and answers undefined for an unknown id', async () => {
      const job = acceptedJob({ runAt: at(500), state: S.JOB_STATE_SCHEDULED, shadow: true });
      await store.recordAccepted([job]);
      const record = await store.get(job.jobId);
      expect(record).toEqual({
        jobId: job.jobId,
        producerId: 'billing',
        jobType: 'invoice.email',
        queue: Queue.QUEUE_HIGH,
        state: S.JOB_STATE_SCHEDULED,
        createdAt: job.createdAt,
        runAt: at(500),
        updatedAt: job.createdAt,
        attempts: 0,
        maxRetries: 2,
        lastError: '',
        worker: '',
        traceId: 'trace-1',
        correlationId: 'corr-1',
        shadow: true,
        messageId: job.messageId,
        startedAt: undefined,
        finishedAt: undefined,
        payloadBytes: 42,
      } satisfies Job);
      expect(await store.get('no-such-job')).toBeUndefined();
    });

    it('writes a batch, and leaves a job already recorded as it is', async () => {
      const a = acceptedJob();
      const b = acceptedJob({ runAt: undefined });
      await store.recordAccepted([a, b]);
      await store.report(reportOf(a, S.JOB_STATE_RUNNING, 1), at(1000));
      await store.recordAccepted([{ ...a, messageId: 'again' }, b]);
      expect(await store.get(a.jobId)).toMatchObject({
        state: S.JOB_STATE_RUNNING,
        messageId: a.messageId,
      });
      expect(await store.get(b.jobId)).toMatchObject({ runAt: undefined });
      await store.recordAccepted([]);
    });

    it('applies a report sequence: RUNNING, FAILED, a new attempt, SUCCEEDED', async () => {
      const job = acceptedJob();
      await store.recordAccepted([job]);
      const running = await store.report(reportOf(job, S.JOB_STATE_RUNNING, 1), at(100));
      expect(running).toMatchObject({
        state: S.JOB_STATE_RUNNING,
        attempts: 1,
        startedAt: at(100),
        updatedAt: at(100),
        worker: 'worker-1',
      });
      const failed = await store.report(
        reportOf(job, S.JOB_STATE_FAILED, 1, { error: 'x'.repeat(3000) }),
        at(101),
      );
      expect(failed.state).toBe(S.JOB_STATE_FAILED);
      expect(failed.lastError).toBe('x'.repeat(1024));
      const second = await store.report(
        reportOf(job, S.JOB_STATE_RUNNING, 2, { worker: 'worker-2' }),
        at(102),
      );
      expect(second).toMatchObject({ attempts: 2, startedAt: at(102), worker: 'worker-2' });
      const done = await store.report(reportOf(job, S.JOB_STATE_SUCCEEDED, 2), at(103));
      expect(done).toMatchObject({ state: S.JOB_STATE_SUCCEEDED, finishedAt: at(103) });
      expect(await store.get(job.jobId)).toEqual(done);
    });

    it('answers the record as it stands for a refused report: terminal, stale, or out of order', async () => {
      const job = acceptedJob();
      await store.recordAccepted([job]);
      await store.report(reportOf(job, S.JOB_STATE_RUNNING, 2), at(10));
      const stale = await store.report(reportOf(job, S.JOB_STATE_SUCCEEDED, 1), at(11));
      expect(stale).toMatchObject({ state: S.JOB_STATE_RUNNING, attempts: 2, updatedAt: at(10) });
      await store.report(reportOf(job, S.JOB_STATE_FAILED, 2), at(12));
      const afterEnd = await store.report(reportOf(job, S.JOB_STATE_SUCCEEDED, 2), at(13));
      expect(afterEnd).toMatchObject({ state: S.JOB_STATE_FAILED, updatedAt: at(12) });
      const dead = await store.report(reportOf(job, S.JOB_STATE_FAILED, 3), at(14));
      expect(dead).toMatchObject({ state: S.JOB_STATE_DEAD, finishedAt: at(14) });
      const duplicate = await store.report(reportOf(job, S.JOB_STATE_RUNNING, 4), at(15));
      expect(duplicate).toEqual(dead);
    });

    it('creates the record of an unknown job from a report', async () => {
      const job = acceptedJob({ queue: Queue.QUEUE_LOW });
      const record = await store.report(reportOf(job, S.JOB_STATE_RUNNING, 1), at(20));
      expect(record).toMatchObject({
        jobId: job.jobId,
        producerId: 'billing',
        queue: Queue.QUEUE_LOW,
        state: S.JOB_STATE_RUNNING,
        createdAt: at(20),
        maxRetries: 0,
      });
      expect(await store.get(job.jobId)).toEqual(record);
      // Its enqueue, written late (from the recorder's buffer), fills in what the report lacked.
      await store.recordAccepted([job]);
      expect(await store.get(job.jobId)).toMatchObject({
        state: S.JOB_STATE_RUNNING,
        createdAt: job.createdAt,
        maxRetries: 2,
        messageId: job.messageId,
      });
    });

    it('cancels a job that is not terminal, and only that', async () => {
      const job = acceptedJob();
      const finished = acceptedJob();
      await store.recordAccepted([job, finished]);
      await store.report(reportOf(finished, S.JOB_STATE_SUCCEEDED, 1), at(30));
      expect(await store.cancel(job.jobId, at(31))).toMatchObject({
        state: S.JOB_STATE_CANCELLED,
        finishedAt: at(31),
      });
      expect(await store.cancel(finished.jobId, at(32))).toMatchObject({
        state: S.JOB_STATE_SUCCEEDED,
      });
      expect(await store.cancel('no-such-job', at(33))).toBeUndefined();
      expect(await store.report(reportOf(job, S.JOB_STATE_RUNNING, 1), at(34))).toMatchObject({
        state: S.JOB_STATE_CANCELLED,
      });
    });

    it('records a published SCHEDULED job as QUEUED with its message id, and only a SCHEDULED one', async () => {
      const scheduled = acceptedJob({ state: S.JOB_STATE_SCHEDULED, runAt: at(100) });
      const cancelled = acceptedJob({ state: S.JOB_STATE_SCHEDULED, runAt: at(100) });
      const queued = acceptedJob({ messageId: 'm-0' });
      await store.recordAccepted([scheduled, cancelled, queued]);
      await store.cancel(cancelled.jobId, at(40));
      await store.recordPublished(
        [
          { jobId: scheduled.jobId, messageId: 'm-1' },
          { jobId: cancelled.jobId, messageId: 'm-2' },
          { jobId: queued.jobId, messageId: 'm-3' },
          { jobId: 'no-such-job', messageId: 'm-4' },
        ],
        at(41),
      );
      expect(await store.get(scheduled.jobId)).toMatchObject({
        state: S.JOB_STATE_QUEUED,
        messageId: 'm-1',
        updatedAt: at(41),
      });
      expect(await store.get(cancelled.jobId)).toMatchObject({ state: S.JOB_STATE_CANCELLED });
      expect(await store.get(queued.jobId)).toMatchObject({
        state: S.JOB_STATE_QUEUED,
        messageId: 'm-0',
      });
      expect(await store.get('no-such-job')).toBeUndefined();
    });

    it('lists newest first (created_at, then job_id) with every filter', async () => {
      const same = at(5000);
      const jobs = [
        acceptedJob({ jobId: 'list-a', createdAt: same }),
        acceptedJob({ jobId: 'list-b', createdAt: same, jobType: 'other' }),
        acceptedJob({ jobId: 'list-c', createdAt: at(5001), producerId: 'shipping' }),
        acceptedJob({ jobId: 'list-d', createdAt: at(4999), shadow: true }),
        acceptedJob({ jobId: 'list-e', createdAt: at(5002) }),
      ];
      await store.recordAccepted(jobs);
      await store.report(reportOf(jobs[4] as AcceptedJob, S.JOB_STATE_RUNNING, 1), at(6000));
      const ids = async (query: Partial<ListJobsQuery>) =>
        (await store.list({ ...everything, ...query })).jobs.map((j) => j.jobId);

      expect(await ids({})).toEqual(['list-e', 'list-c', 'list-b', 'list-a', 'list-d']);
      expect(await ids({ includeShadow: false })).toEqual(['list-e', 'list-c', 'list-b', 'list-a']);
      expect(await ids({ producerId: 'shipping' })).toEqual(['list-c']);
      expect(await ids({ jobType: 'other' })).toEqual(['list-b']);
      expect(await ids({ states: [S.JOB_STATE_RUNNING] })).toEqual(['list-e']);
      expect(await ids({ states: [S.JOB_STATE_RUNNING, S.JOB_STATE_QUEUED] })).toHaveLength(5);
      expect(await ids({ createdAfter: same })).toEqual(['list-e', 'list-c']);
      expect(await ids({ createdBefore: same })).toEqual(['list-d']);
      expect(await ids({ createdAfter: at(4999), createdBefore: at(5001) })).toEqual([
        'list-b',
        'list-a',
      ]);
      expect(await ids({ producerId: 'nobody' })).toEqual([]);
    });

    it('pages with a cursor: every record once, in order, and no cursor after the last page', async () => {
      const jobs = Array.from({ length: 7 }, (_, i) =>
        acceptedJob({ jobId: `page-${i}`, createdAt: at(7000 + Math.floor(i / 2)) }),
      );
      await store.recordAccepted(jobs);
      const seen: string[] = [];
      let after: ListJobsQuery['after'];
      let pages = 0;
      do {
        const page = await store.list({ ...everything, limit: 3, after });
        seen.push(...page.jobs.map((j) => j.jobId));
        after = page.next;
        pages += 1;
        expect(pages).toBeLessThan(10);
      } while (after !== undefined);
      expect(seen).toEqual(['page-6', 'page-5', 'page-4', 'page-3', 'page-2', 'page-1', 'page-0']);
      const exact = await store.list({ ...everything, limit: 7 });
      expect(exact.jobs).toHaveLength(7);
      expect(exact.next).toBeUndefined();
    });

    it('deletes records last changed before a time, in batches of the size asked', async () => {
      const old = Array.from({ length: 5 }, () => acceptedJob({ createdAt: at(-10_000) }));
      const fresh = acceptedJob({ createdAt: at(-10_000) });
      await store.recordAccepted([...old, fresh]);
      await store.report(reportOf(fresh, S.JOB_STATE_RUNNING, 1), at(0));
      expect(await store.deleteExpired(at(-5_000), 3)).toBe(3);
      expect(await store.deleteExpired(at(-5_000), 3)).toBe(2);
      expect(await store.deleteExpired(at(-5_000), 3)).toBe(0);
      for (const job of old) expect(await store.get(job.jobId)).toBeUndefined();
      expect(await store.get(fresh.jobId)).toBeDefined();
    });

    it('keeps a SCHEDULED job past retention while its run_at is ahead', async () => {
      const waiting = acceptedJob({
        createdAt: at(-10_000),
        state: S.JOB_STATE_SCHEDULED,
        runAt: at(1_000_000),
      });
      const fired = acceptedJob({
        createdAt: at(-10_000),
        state: S.JOB_STATE_SCHEDULED,
        runAt: at(-9_000),
      });
      await store.recordAccepted([waiting, fired]);
      expect(await store.deleteExpired(at(-5_000), 10)).toBe(1);
      expect(await store.get(waiting.jobId)).toBeDefined();
      expect(await store.get(fired.jobId)).toBeUndefined();
    });

    it('tells change listeners about every change of a record (not its creation), and stops after unsubscribe', async () => {
      const heard: string[] = [];
      const stop = store.onChange((jobId) => heard.push(jobId));
      const job = acceptedJob();
      await store.recordAccepted([job]); // new: nobody can be watching it yet
      await store.report(reportOf(job, S.JOB_STATE_RUNNING, 1), at(1));
      await store.report(reportOf(job, S.JOB_STATE_RUNNING, 1), at(2)); // refused: no change
      await store.cancel(job.jobId, at(3));
      await eventually(() => heard.length >= 2, 3000, 'two changes');
      await new Promise((resolve) => setTimeout(resolve, shared ? 300 : 0));
      expect(heard).toEqual([job.jobId, job.jobId]);
      stop();
      const other = acceptedJob();
      await store.recordAccepted([other]);
      await store.report(reportOf(other, S.JOB_STATE_RUNNING, 1), at(4)); // a change, unheard
      await new Promise((resolve) => setTimeout(resolve, shared ? 300 : 0));
      expect(heard).toHaveLength(2);
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    if (shared) {
      it('shares records and changes between two stores (replicas) within 1 s', async () => {
        const other = await open();
        const heard: string[] = [];
        const stop = other.onChange((jobId) => heard.push(jobId));
        const job = acceptedJob();
        await store.recordAccepted([job]);
        expect(await other.get(job.jobId)).toMatchObject({ state: S.JOB_STATE_QUEUED });
        const started = Date.now();
        await store.report(reportOf(job, S.JOB_STATE_RUNNING, 1), at(1));
        await eventually(() => heard.includes(job.jobId), 1000, 'the report on the other replica');
        expect(Date.now() - started).toBeLessThan(1000);
        expect(await other.get(job.jobId)).toMatchObject({ state: S.JOB_STATE_RUNNING });
        stop();
      });

      it('applies concurrent reports from two replicas atomically', async () => {
        const other = await open();
        const job = acceptedJob();
        await store.recordAccepted([job]);
        await store.report(reportOf(job, S.JOB_STATE_RUNNING, 1), at(1));
        // Two workers end the same attempt at once: exactly one end wins.
        const [a, b] = await Promise.all([
          store.report(reportOf(job, S.JOB_STATE_SUCCEEDED, 1, { worker: 'a' }), at(2)),
          other.report(reportOf(job, S.JOB_STATE_FAILED, 1, { worker: 'b' }), at(2)),
        ]);
        expect(a).toEqual(b);
        expect(await store.get(job.jobId)).toEqual(a);
      });
    } else {
      it('keeps each store’s records to itself', async () => {
        const other = await open();
        const job = acceptedJob();
        await store.recordAccepted([job]);
        expect(await other.get(job.jobId)).toBeUndefined();
      });
    }
  });
}
