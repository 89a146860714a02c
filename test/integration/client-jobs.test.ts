/**
 * The typed client's job ledger methods against a real Jack (memory ledger,
 * SPEC §13/§14): getJob, reportJobStatus, listJobs over every page,
 * watchJob as an async iterator, enqueueAndWait with a worker that reports.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createJackClient,
  type JackClient,
  JackClientError,
  JobState,
} from '../../src/client/index.js';
import { type RunningJack, startJack } from '../support/jack.js';
import { jobIdOf, report, runQueuedJobs } from '../support/jobs.js';

let jack: RunningJack;
let client: JackClient;

beforeAll(async () => {
  jack = await startJack();
  client = createJackClient({ addr: jack.address });
});
afterAll(async () => {
  client?.close();
  await jack?.close();
});

describe('client: the job ledger', () => {
  it('reportJobStatus answers the record; getJob reads it; an unknown job is not_found', async () => {
    const jobId = jobIdOf('prod_client');
    const { job } = await client.reportJobStatus(report({ jobId, producerId: 'prod_client' }));
    expect(job?.state).toBe(JobState.JOB_STATE_RUNNING);
    expect((await client.getJob({ jobId })).jobId).toBe(jobId);
    const err = await client.getJob({ jobId: jobIdOf('prod_client') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JackClientError);
    expect((err as JackClientError).code).toBe(status.NOT_FOUND);
  });

  it('listJobs iterates over every page, newest first', async () => {
    const producer = 'prod_client_pages';
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const jobId = jobIdOf(producer);
      await client.reportJobStatus(report({ jobId, producerId: producer }));
      ids.push(jobId);
      await new Promise((r) => setTimeout(r, 2));
    }
    const seen: string[] = [];
    for await (const job of client.listJobs({ producerId: producer, pageSize: 3 })) {
      seen.push(job.jobId);
    }
    expect(seen).toEqual([...ids].reverse());
    const page = await client.listJobsPage({ producerId: producer, pageSize: 3 });
    expect(page.jobs).toHaveLength(3);
    expect(page.nextPageToken).not.toBe('');
  });

  it('watchJob yields the record and each change, and ends after a terminal state', async () => {
    const jobId = jobIdOf('prod_client');
    await client.reportJobStatus(report({ jobId, producerId: 'prod_client' }));
    const states: JobState[] = [];
    for await (const job of client.watchJob(jobId, { deadlineMs: 10_000 })) {
      states.push(job.state);
      if (states.length === 1) {
        await client.reportJobStatus(
          report({ jobId, producerId: 'prod_client', state: JobState.JOB_STATE_SUCCEEDED }),
        );
      }
    }
    expect(states[0]).toBe(JobState.JOB_STATE_RUNNING);
    expect(states.at(-1)).toBe(JobState.JOB_STATE_SUCCEEDED);
  });

  it('watchJob of a malformed id rejects with invalid_argument', async () => {
    const iterate = async () => {
      for await (const _ of client.watchJob('pjob_bad', { deadlineMs: 5_000 })) {
        // nothing arrives
      }
    };
    await expect(iterate()).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });

  it('enqueueAndWait answers the final record once a worker ended the job', async () => {
    const ledger = jack.app.ledger;
    if (ledger === undefined) throw new Error('the ledger is on by default');
    const unsubscribe = runQueuedJobs(ledger, ['prod_client_wait'], async (job) => {
      const base = { jobId: job.jobId, producerId: job.producerId, jobType: job.jobType };
      await client.reportJobStatus(report(base));
      await client.reportJobStatus(report({ ...base, state: JobState.JOB_STATE_SUCCEEDED }));
    });
    try {
      const job = await client.enqueueAndWait(
        { producerId: 'prod_client_wait', jobType: 'resize', payload: Buffer.from('{}') },
        { waitMs: 10_000 },
      );
      expect(job.state).toBe(JobState.JOB_STATE_SUCCEEDED);
      expect(job.producerId).toBe('prod_client_wait');
    } finally {
      unsubscribe();
    }
  });

  it('enqueueAndWait gives up after waitMs with deadline_exceeded', async () => {
    const err = await client
      .enqueueAndWait({ producerId: 'prod_client_idle', jobType: 'resize' }, { waitMs: 300 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JackClientError);
    expect((err as JackClientError).code).toBe(status.DEADLINE_EXCEEDED);
  });
});
