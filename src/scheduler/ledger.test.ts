import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../test/support/eventually.js';
import { createRecordingBackend } from '../../test/support/recording-backend.js';
import { isJackError } from '../errors.js';
import { JobState } from '../ledger/ledger.js';
import { createMemoryLedgerStore } from '../ledger/memory.js';
import { type Metrics, noopMetrics } from '../metrics.js';
import type { OutboundMessage } from '../queue/backend.js';
import { createLedgerScheduler } from './ledger.js';
import { createMemoryScheduleStore } from './ledger-memory.js';
import type { Scheduler } from './scheduler.js';

const logger = pino({ level: 'silent' });
let sequence = 0;

function message(jobId = `job-${++sequence}`): OutboundMessage {
  return {
    jobId,
    priority: 'high',
    data: Buffer.from(`payload of ${jobId}`),
    attributes: {
      job_id: jobId,
      producer_id: 'prod_1',
      job_type: 'send_email',
      priority: 'high',
      run_at: new Date().toISOString(),
      created_at: new Date().toISOString(),
      max_retries: '3',
      shadow: 'false',
    },
  };
}

const open: Scheduler[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

function setup(options: { maxJobs?: number } = {}) {
  const ledger = createMemoryLedgerStore({ maxJobs: 5000 });
  const backend = createRecordingBackend();
  const store = createMemoryScheduleStore({ ledger, maxJobs: options.maxJobs ?? 5000 });
  const seen = { lateness: [] as number[], waiting: [] as number[] };
  const metrics: Metrics = {
    ...noopMetrics,
    scheduledPublished: (seconds) => seen.lateness.push(seconds),
    scheduledWaiting: (jobs) => seen.waiting.push(jobs),
  };
  const scheduler = createLedgerScheduler({
    store,
    backend,
    logger,
    metrics,
    pollIntervalMs: 200,
    waitingCountIntervalMs: 0,
  });
  open.push(scheduler);
  return { ledger, backend, scheduler, seen };
}

const soon = (ms: number) => new Date(Date.now() + ms);

describe('ledger scheduler on the memory ledger', () => {
  it('records SCHEDULED, publishes the whole message when due, then records QUEUED', async () => {
    const { ledger, backend, scheduler } = setup();
    const m = message();
    await scheduler.schedule(m, soon(150), 17);
    expect((await ledger.get(m.jobId))?.state).toBe(JobState.JOB_STATE_SCHEDULED);
    expect((await ledger.get(m.jobId))?.payloadBytes).toBe(17);
    expect(backend.published).toHaveLength(0);
    await eventually('published', async () => backend.published.length === 1, 5_000);
    expect(backend.published[0]).toEqual(m);
    const record = await ledger.get(m.jobId);
    expect(record?.state).toBe(JobState.JOB_STATE_QUEUED);
    expect(record?.messageId).toBe('recorded-1');
  });

  it('counts the jobs waiting and the lateness of each publish', async () => {
    const { backend, scheduler, seen } = setup();
    await scheduler.schedule(message(), soon(60_000));
    await scheduler.schedule(message(), soon(100));
    await eventually('published', async () => backend.published.length === 1, 5_000);
    expect(seen.lateness).toHaveLength(1);
    expect(seen.lateness[0]).toBeGreaterThanOrEqual(0);
    expect(seen.lateness[0]).toBeLessThan(60);
    // After the publish, one job (60 s ahead) still waits.
    await eventually('waiting counted', async () => seen.waiting.at(-1) === 1, 5_000);
  });

  it('accepts a job 60 days ahead and keeps it waiting', async () => {
    const { ledger, backend, scheduler } = setup();
    const m = message();
    await scheduler.schedule(m, soon(60 * 86_400_000));
    await sleep(300);
    expect(backend.published).toHaveLength(0);
    expect((await ledger.get(m.jobId))?.state).toBe(JobState.JOB_STATE_SCHEDULED);
  });

  it('scheduling one job id twice keeps one job and publishes it once', async () => {
    const { backend, scheduler } = setup();
    const m = message();
    await scheduler.schedule(m, soon(100));
    await scheduler.schedule(m, soon(100));
    await eventually('published', async () => backend.published.length === 1, 5_000);
    await sleep(300);
    expect(backend.published).toHaveLength(1);
  });

  it('CancelJob before the run time: CANCELLED, never published; again → NOT_FOUND', async () => {
    const { ledger, backend, scheduler } = setup();
    const m = message();
    await scheduler.schedule(m, soon(200));
    await scheduler.cancel(m.jobId);
    expect((await ledger.get(m.jobId))?.state).toBe(JobState.JOB_STATE_CANCELLED);
    await expect(scheduler.cancel(m.jobId)).rejects.toMatchObject({ code: 'not_found' });
    await sleep(500);
    expect(backend.published).toHaveLength(0);
  });

  it('CancelJob of a job being published → NOT_FOUND, and it is published', async () => {
    const { ledger, backend, scheduler } = setup();
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const publish = backend.publish.bind(backend);
    let started = false;
    backend.publish = async (msg) => {
      started = true;
      await held;
      return publish(msg);
    };
    const m = message();
    await scheduler.schedule(m, soon(50));
    await eventually('publish started', async () => started, 5_000);
    await expect(scheduler.cancel(m.jobId)).rejects.toMatchObject({ code: 'not_found' });
    release();
    await eventually('published', async () => backend.published.length === 1, 5_000);
    await eventually(
      'queued',
      async () => (await ledger.get(m.jobId))?.state === JobState.JOB_STATE_QUEUED,
    );
  });

  it('a failed publish stays scheduled, health says so, and it is published when the backend is back', async () => {
    const { ledger, backend, scheduler } = setup();
    backend.failWith = () => 'unavailable';
    const m = message();
    await scheduler.schedule(m, soon(50));
    await eventually(
      'unhealthy',
      async () => {
        try {
          await scheduler.check();
          return false;
        } catch (err) {
          return isJackError(err) && err.code === 'unavailable';
        }
      },
      5_000,
    );
    expect((await ledger.get(m.jobId))?.state).toBe(JobState.JOB_STATE_SCHEDULED);
    backend.failWith = () => undefined;
    await eventually('published after recovery', async () => backend.published.length === 1, 5_000);
    await eventually(
      'healthy',
      async () =>
        scheduler.check().then(
          () => true,
          () => false,
        ),
      5_000,
    );
  });

  it('stops starting publishes in a batch after the first failure; the rest wait, then go once', async () => {
    const ledger = createMemoryLedgerStore({ maxJobs: 5000 });
    const backend = createRecordingBackend();
    let attempts = 0;
    backend.failWith = () => {
      attempts += 1;
      return 'unavailable';
    };
    const scheduler = createLedgerScheduler({
      store: createMemoryScheduleStore({ ledger, maxJobs: 5000 }),
      backend,
      logger,
      pollIntervalMs: 5_000,
      publishConcurrency: 4,
    });
    open.push(scheduler);
    const at = soon(50);
    const messages = Array.from({ length: 200 }, () => message());
    for (const m of messages) await scheduler.schedule(m, at);
    await eventually('first attempts', async () => attempts > 0, 5_000);
    await sleep(100);
    // One wave of the lanes at most, not 200 attempts.
    expect(attempts).toBeLessThanOrEqual(4);
    backend.failWith = () => undefined;
    await scheduler.schedule(message(), soon(0)); // wakes the scheduler before the next poll
    await eventually('all published', async () => backend.published.length === 201, 5_000);
    expect(new Set(backend.published.map((m) => m.jobId)).size).toBe(201);
  });

  it('close lets a publish in flight finish and record QUEUED', async () => {
    const { ledger, backend, scheduler } = setup();
    let started = false;
    const publish = backend.publish.bind(backend);
    backend.publish = async (msg) => {
      started = true;
      await sleep(200);
      return publish(msg);
    };
    const m = message();
    await scheduler.schedule(m, soon(20));
    await eventually('publish started', async () => started, 5_000);
    await scheduler.close();
    expect(backend.published).toHaveLength(1);
    expect((await ledger.get(m.jobId))?.state).toBe(JobState.JOB_STATE_QUEUED);
  });

  it('refuses a job beyond LEDGER_MAX_JOBS waiting, with a reason', async () => {
    const { scheduler } = setup({ maxJobs: 1 });
    await scheduler.schedule(message(), soon(60_000));
    await expect(scheduler.schedule(message(), soon(60_000))).rejects.toMatchObject({
      code: 'resource_exhausted',
      message: expect.stringMatching(/LEDGER_MAX_JOBS/),
    });
  });

  it('publishes a burst of due jobs, each once', async () => {
    const { backend, scheduler } = setup();
    const at = soon(100);
    const ids = Array.from({ length: 1200 }, () => message());
    await Promise.all(ids.map((m) => scheduler.schedule(m, at)));
    await eventually('all published', async () => backend.published.length >= 1200, 10_000);
    expect(new Set(backend.published.map((m) => m.jobId)).size).toBe(1200);
    expect(backend.published).toHaveLength(1200);
  });
});
