/**
 * jack.Jobs over a real socket (SPEC §14): every RPC, its bad input (a clear
 * status each, never INTERNAL), page tokens, WatchJob and its bound per
 * connection, JOB_LEDGER=off.
 */
import { credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Job, JobState, JobsClient } from '../../src/gen/jack/jobs.js';
import { Queue } from '../../src/gen/jack/storage.js';
import { healthStatus } from '../support/health-client.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { encodeReport, jobIdOf, openWatch, rawClient, report } from '../support/jobs.js';

const REPORT_PATH = '/jack.Jobs/ReportJobStatus';
/** Invalid UTF-8: a lone continuation byte and an overlong encoding. */
const BAD_UTF8 = Buffer.from([0x61, 0x80, 0xc0, 0xaf]);

describe('jack.Jobs (memory ledger)', () => {
  let jack: RunningJack;

  beforeAll(async () => {
    jack = await startJack({ MAX_WATCHES_PER_CONNECTION: '3' });
  });
  afterAll(async () => {
    await jack.close();
  });

  const reportJob = (fields: Parameters<typeof report>[0]) =>
    call(jack.ledger, 'reportJobStatus', report(fields));

  describe('ReportJobStatus and GetJob', () => {
    it('creates an unknown job from its report, answers the record, and GetJob finds it', async () => {
      const jobId = jobIdOf('prod_report');
      const res = await reportJob({ jobId, producerId: 'prod_report', queue: Queue.QUEUE_HIGH });
      expect(res.job).toMatchObject({
        jobId,
        producerId: 'prod_report',
        jobType: 'resize',
        queue: Queue.QUEUE_HIGH,
        state: JobState.JOB_STATE_RUNNING,
        attempts: 1,
        worker: 'worker-1',
      });
      const got = await call(jack.ledger, 'getJob', { jobId });
      expect(got).toMatchObject({ jobId, state: JobState.JOB_STATE_RUNNING, attempts: 1 });
    });

    it('answers a refused report with the record as it stands (terminal never changes)', async () => {
      const jobId = jobIdOf('prod_report');
      await reportJob({ jobId, producerId: 'prod_report' });
      await reportJob({ jobId, producerId: 'prod_report', state: JobState.JOB_STATE_SUCCEEDED });
      const again = await reportJob({ jobId, producerId: 'prod_report', attempt: 2 });
      expect(again.job?.state).toBe(JobState.JOB_STATE_SUCCEEDED);
      expect(again.job?.attempts).toBe(1);
    });

    it('GetJob of an unknown job is NOT_FOUND, of a malformed id INVALID_ARGUMENT', async () => {
      const unknown = jobIdOf('prod_nobody');
      expect(await callError(call(jack.ledger, 'getJob', { jobId: unknown }))).toMatchObject({
        code: status.NOT_FOUND,
        details: expect.stringContaining(unknown),
      });
      for (const jobId of ['', 'pjob_x', 'nonsense', `pjob_${'9'.repeat(5000)}`]) {
        const err = await callError(call(jack.ledger, 'getJob', { jobId }));
        expect(err.code).toBe(status.INVALID_ARGUMENT);
        expect(err.details).toMatch(/job_id/);
      }
    });

    it.each([
      [
        'a state a worker may not report',
        { state: JobState.JOB_STATE_QUEUED },
        /^state must be .* not JOB_STATE_QUEUED$/,
      ],
      ['no state', { state: JobState.JOB_STATE_UNSPECIFIED }, /^state must be/],
      ['an out-of-range state', { state: 99 as JobState }, /^state must be .* not 99$/],
      ['attempt 0', { attempt: 0 }, /^attempt must be at least 1, not 0$/],
      ['a negative attempt', { attempt: -3 }, /^attempt must be at least 1, not -3$/],
      ['an unknown queue', { queue: 42 as Queue }, /^queue 42 is not a known Queue$/],
    ])('refuses %s with INVALID_ARGUMENT naming the field', async (_what, fields, details) => {
      const jobId = jobIdOf('prod_bad');
      const err = await callError(reportJob({ jobId, producerId: 'prod_bad', ...fields }));
      expect(err).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: expect.stringMatching(details),
      });
      // Nothing was recorded.
      expect((await callError(call(jack.ledger, 'getJob', { jobId }))).code).toBe(status.NOT_FOUND);
    });

    it('refuses a job id that is malformed or not of the producer', async () => {
      const malformed = await callError(reportJob({ jobId: 'pjob_broken', producerId: 'prod_a' }));
      expect(malformed).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: expect.stringMatching(/^invalid job_id/),
      });
      const other = jobIdOf('prod_a');
      const wrong = await callError(reportJob({ jobId: other, producerId: 'prod_b' }));
      expect(wrong).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: `job_id ${other} does not belong to producer_id prod_b`,
      });
      const none = await callError(reportJob({ jobId: other, producerId: '' }));
      expect(none).toMatchObject({
        code: status.INVALID_ARGUMENT,
        details: 'producer_id is required',
      });
    });

    it('refuses an error that is not UTF-8, naming the field', async () => {
      const raw = rawClient(jack.address);
      try {
        const jobId = jobIdOf('prod_utf8');
        const valid = encodeReport(report({ jobId, producerId: 'prod_utf8' }));
        // Field 6 (error), length-delimited, appended: proto3 keeps the last value.
        const bad = Buffer.concat([valid, Buffer.from([(6 << 3) | 2, BAD_UTF8.length]), BAD_UTF8]);
        expect(await raw.invoke(REPORT_PATH, bad)).toEqual({
          code: status.INVALID_ARGUMENT,
          details: 'error is not valid UTF-8',
        });
        expect(await raw.invoke(REPORT_PATH, Buffer.from([0x0a, 0xff]))).toMatchObject({
          code: status.INVALID_ARGUMENT,
        });
      } finally {
        raw.close();
      }
    });

    it('cuts an oversized error at a character boundary instead of refusing it', async () => {
      const jobId = jobIdOf('prod_cut');
      // 'é' is 2 bytes: 1023 bytes of 'a' then 'é' must not be split in two.
      const error = `${'a'.repeat(1023)}é${'x'.repeat(100_000)}`;
      const res = await reportJob({
        jobId,
        producerId: 'prod_cut',
        state: JobState.JOB_STATE_FAILED,
        error,
      });
      expect(res.job?.lastError).toBe('a'.repeat(1023));
      expect(res.job?.state).toBe(JobState.JOB_STATE_FAILED);
    });
  });

  describe('ListJobs', () => {
    const producer = 'prod_list';
    const made: string[] = [];

    beforeAll(async () => {
      // Five jobs, 2 ms apart so created_at differs; the third of another type.
      for (let i = 0; i < 5; i++) {
        const jobType = i === 2 ? 'email' : 'resize';
        const jobId = jobIdOf(producer, jobType);
        await reportJob({
          jobId,
          producerId: producer,
          jobType,
          state: i === 4 ? JobState.JOB_STATE_SUCCEEDED : JobState.JOB_STATE_RUNNING,
        });
        made.push(jobId);
        await new Promise((r) => setTimeout(r, 3));
      }
    });

    const list = (fields: Record<string, unknown>) =>
      call(jack.ledger, 'listJobs', {
        producerId: producer,
        jobType: '',
        states: [],
        createdAfter: undefined,
        createdBefore: undefined,
        includeShadow: false,
        pageSize: 0,
        pageToken: '',
        ...fields,
      });

    it('lists newest first, filtered by producer, type and state', async () => {
      const all = await list({});
      expect(all.jobs.map((j) => j.jobId)).toEqual([...made].reverse());
      expect(all.nextPageToken).toBe('');
      const emails = await list({ jobType: 'email' });
      expect(emails.jobs.map((j) => j.jobId)).toEqual([made[2]]);
      const done = await list({ states: [JobState.JOB_STATE_SUCCEEDED] });
      expect(done.jobs.map((j) => j.jobId)).toEqual([made[4]]);
      const other = await list({ producerId: 'prod_nothing_here' });
      expect(other.jobs).toEqual([]);
      // created_after / created_before: the window between the first two and the last two.
      const created = all.jobs.map((j) => j.createdAt as Date).reverse();
      const window = await list({
        createdAfter: created[1],
        createdBefore: created[4],
      });
      expect(window.jobs.map((j) => j.jobId)).toEqual([made[3], made[2]]);
    });

    it('pages with tokens Jack issued and refuses any other token', async () => {
      const first = await list({ pageSize: 2 });
      expect(first.jobs.map((j) => j.jobId)).toEqual([made[4], made[3]]);
      expect(first.nextPageToken).not.toBe('');
      const second = await list({ pageSize: 2, pageToken: first.nextPageToken });
      expect(second.jobs.map((j) => j.jobId)).toEqual([made[2], made[1]]);
      const third = await list({ pageSize: 2, pageToken: second.nextPageToken });
      expect(third.jobs.map((j) => j.jobId)).toEqual([made[0]]);
      expect(third.nextPageToken).toBe('');

      for (const pageToken of ['garbage', `${first.nextPageToken}x`, 'a.b.c']) {
        const err = await callError(list({ pageSize: 2, pageToken }));
        expect(err).toMatchObject({
          code: status.INVALID_ARGUMENT,
          details: expect.stringMatching(/^page_token is not valid/),
        });
      }
      // A token of another list (other filters) is foreign too.
      const foreign = await callError(list({ jobType: 'resize', pageToken: first.nextPageToken }));
      expect(foreign.code).toBe(status.INVALID_ARGUMENT);
    });

    it('refuses a negative page_size and an unknown state; takes above 1000 as 1000', async () => {
      expect((await callError(list({ pageSize: -1 }))).code).toBe(status.INVALID_ARGUMENT);
      expect(await callError(list({ states: [77] }))).toEqual({
        code: status.INVALID_ARGUMENT,
        details: 'states[0] is not a known JobState',
      });
      expect((await list({ pageSize: 1_000_000 })).jobs).toHaveLength(5);
    });
  });

  describe('WatchJob', () => {
    it('sends the record, then every change, and ends with OK after a terminal state', async () => {
      const jobId = jobIdOf('prod_watch');
      await reportJob({ jobId, producerId: 'prod_watch' });
      const watch = openWatch(jack.ledger, jobId);
      const [first] = await watch.received(1);
      expect(first?.state).toBe(JobState.JOB_STATE_RUNNING);
      await reportJob({
        jobId,
        producerId: 'prod_watch',
        state: JobState.JOB_STATE_FAILED,
        error: 'boom',
      });
      await reportJob({ jobId, producerId: 'prod_watch', attempt: 2 });
      await reportJob({
        jobId,
        producerId: 'prod_watch',
        attempt: 2,
        state: JobState.JOB_STATE_SUCCEEDED,
      });
      const outcome = await watch.ended();
      expect(outcome.code).toBe(status.OK);
      const states = outcome.jobs.map((j: Job) => `${JobState[j.state]}/${j.attempts}`);
      expect(states[0]).toBe('JOB_STATE_RUNNING/1');
      expect(states.at(-1)).toBe('JOB_STATE_SUCCEEDED/2');
      // Every change, in order (a change during a read may fold into the next version).
      expect(states.indexOf('JOB_STATE_SUCCEEDED/2')).toBe(states.length - 1);
    });

    it('ends at once after the record when the job is already terminal', async () => {
      const jobId = jobIdOf('prod_watch');
      await reportJob({ jobId, producerId: 'prod_watch', state: JobState.JOB_STATE_DEAD });
      const outcome = await openWatch(jack.ledger, jobId).ended();
      expect(outcome.code).toBe(status.OK);
      expect(outcome.jobs.map((j) => j.state)).toEqual([JobState.JOB_STATE_DEAD]);
    });

    it('answers NOT_FOUND for an unknown job and INVALID_ARGUMENT for a malformed id', async () => {
      const unknown = await openWatch(jack.ledger, jobIdOf('prod_watch')).ended();
      expect(unknown.code).toBe(status.NOT_FOUND);
      const malformed = await openWatch(jack.ledger, 'pjob_nope').ended();
      expect(malformed.code).toBe(status.INVALID_ARGUMENT);
    });

    it('refuses watches beyond MAX_WATCHES_PER_CONNECTION on one connection, not on another', async () => {
      const jobId = jobIdOf('prod_bound');
      await reportJob({ jobId, producerId: 'prod_bound' });
      // A client of its own = a connection of its own (the bound is 3 here).
      const client = new JobsClient(jack.address, credentials.createInsecure());
      const other = new JobsClient(jack.address, credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      });
      try {
        const open = [0, 1, 2].map(() => openWatch(client, jobId));
        await Promise.all(open.map((w) => w.received(1)));
        const refused = await openWatch(client, jobId).ended();
        expect(refused.code).toBe(status.RESOURCE_EXHAUSTED);
        expect(refused.details).toMatch(/MAX_WATCHES_PER_CONNECTION/);
        // A stream travels the one pipeline: the logging interceptor saw the refusal.
        expect(
          jack.logs.some(
            (l) =>
              l.msg === 'call failed' && l.method === 'WatchJob' && l.code === 'RESOURCE_EXHAUSTED',
          ),
        ).toBe(true);
        // Another connection has its own bound.
        const elsewhere = openWatch(other, jobId);
        await elsewhere.received(1);
        // A closed watch frees its place.
        open[0]?.cancel();
        await open[0]?.ended().catch(() => undefined);
        await expect
          .poll(
            async () => {
              const w = openWatch(client, jobId);
              const first = await Promise.race([
                w.received(1, 2_000).then(() => 'open'),
                w.ended(2_000).then((o) => String(o.code)),
              ]);
              w.cancel();
              return first;
            },
            { timeout: 5_000 },
          )
          .toBe('open');
        for (const w of [...open, elsewhere]) w.cancel();
      } finally {
        client.close();
        other.close();
      }
    });
  });

  it('health serves jack.Jobs', async () => {
    expect(await healthStatus(jack.address, 'jack.Jobs')).toBe('SERVING');
  });
});

describe('jack.Jobs with JOB_LEDGER=off', () => {
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack({ JOB_LEDGER: 'off' });
  });
  afterAll(async () => {
    await jack.close();
  });

  it('answers FAILED_PRECONDITION "job ledger is off" on every RPC', async () => {
    const jobId = jobIdOf('prod_off');
    const expected = { code: status.FAILED_PRECONDITION, details: 'job ledger is off' };
    expect(await callError(call(jack.ledger, 'getJob', { jobId }))).toEqual(expected);
    expect(
      await callError(
        call(jack.ledger, 'listJobs', {
          producerId: '',
          jobType: '',
          states: [],
          createdAfter: undefined,
          createdBefore: undefined,
          includeShadow: false,
          pageSize: 0,
          pageToken: '',
        }),
      ),
    ).toEqual(expected);
    expect(
      await callError(
        call(jack.ledger, 'reportJobStatus', report({ jobId, producerId: 'prod_off' })),
      ),
    ).toEqual(expected);
    const watch = await openWatch(jack.ledger, jobId).ended();
    expect({ code: watch.code, details: watch.details }).toEqual(expected);
  });
});

describe('jack.Jobs at shutdown', () => {
  it('ends an open WatchJob with UNAVAILABLE "watch again" instead of cutting it', async () => {
    const jack = await startJack();
    try {
      const jobId = jobIdOf('prod_shutdown');
      await call(jack.ledger, 'reportJobStatus', report({ jobId, producerId: 'prod_shutdown' }));
      const watch = openWatch(jack.ledger, jobId);
      await watch.received(1);
      const closing = jack.app.shutdown();
      const outcome = await watch.ended();
      expect(outcome).toMatchObject({
        code: status.UNAVAILABLE,
        details: 'Jack is shutting down: watch again',
      });
      await closing;
    } finally {
      await jack.close();
    }
  });
});
