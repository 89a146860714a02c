/**
 * The worker SDK (SPEC §15) on the real Pub/Sub emulator with a real Jack
 * (PostgreSQL ledger, a database of this file's own) receiving its reports: exactly once over four lanes and
 * two workers, duplicate deliveries, priority, retries and dead jobs,
 * timeouts, stop() under load, Jack down, and the messages it must not ack.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub } from '@google-cloud/pubsub';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../src/client/index.js';
import {
  createWorker,
  type Delivery,
  type Job,
  JobTimeoutError,
  NonRetryableError,
  pubsubBackend,
} from '../../src/worker/index.js';
import { PRIORITIES } from '../../src/worker/job.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { eventually } from '../support/eventually.js';
import { jobIdOf } from '../support/jobs.js';
import { emulatorClientOptions } from '../support/pubsub-emulator.js';
import {
  createWorkerLanes,
  type JackForWorkers,
  postgresLedger,
  requirePostgres,
  startJackForWorkers,
  type WorkerLanes,
  workerSuite,
} from '../support/worker-lanes.js';

const quiet = { info() {}, warn() {}, error() {} };

const withPostgres = requirePostgres('the worker tests with the PostgreSQL ledger');

describe.skipIf(skipWithoutEmulator() || !withPostgres)(
  'worker SDK on Pub/Sub, PostgreSQL ledger',
  () => {
    let lanes: WorkerLanes;
    let env: JackForWorkers;
    const { workers, worker, stopAll, enqueue, newType, record, waitState } = workerSuite(
      () => lanes,
      () => env,
    );

    beforeAll(async () => {
      lanes = await createWorkerLanes(pubsubEmulatorHost());
      env = await startJackForWorkers(lanes, 2, await postgresLedger('worker_sdk'));
    });
    afterEach(stopAll);
    afterAll(async () => {
      env?.client.close();
      await env?.jack.close();
      await lanes?.close();
    });

    it('2 000 jobs over four lanes, two workers of concurrency 8: each runs once and is SUCCEEDED once in the ledger; a duplicate delivery runs once', async () => {
      const runs = new Map<string, number>();
      const handler = async (job: Job) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        await sleep(2);
      };
      const handlers = Object.fromEntries(PRIORITIES.map((p) => [env.types[p], handler]));
      await worker({ handlers });
      await worker({ handlers });
      const ids = (await Promise.all(PRIORITIES.map((p) => enqueue(env.types[p], 500)))).flat();
      // The same message published twice with one job id.
      const dupId = jobIdOf(env.producerId, env.types.medium);
      const attributes = {
        job_id: dupId,
        producer_id: env.producerId,
        job_type: env.types.medium,
        priority: 'medium',
        max_retries: '2',
      };
      await lanes.publish('medium', Buffer.from('{}'), attributes);
      await lanes.publish('medium', Buffer.from('{}'), attributes);
      ids.push(dupId);

      await eventually('every job ran', async () => ids.every((id) => runs.has(id)), 60_000);
      await eventually(
        'every job SUCCEEDED in the ledger',
        async () =>
          (await Promise.all(ids.map(record))).every(
            (j) => j.state === JobState.JOB_STATE_SUCCEEDED,
          ),
        30_000,
      );
      await sleep(1_500); // a late duplicate would show up by now
      expect([...runs.values()].filter((n) => n !== 1)).toEqual([]);
      expect(runs.size).toBe(ids.length);
      const attempts = (await Promise.all(ids.map(record))).map((j) => j.attempts);
      expect(new Set(attempts)).toEqual(new Set([1]));
      const stats = workers.map((w) => w.stats());
      expect(stats.reduce((n, s) => n + s.succeeded, 0)).toBe(ids.length);
    }, 150_000);

    it('priority: with 200 LOW jobs waiting and concurrency 1, one IMMEDIATE job starts before all but at most one LOW job still waiting', async () => {
      const lowType = await newType('prio_low', 0, 'low');
      const immType = await newType('prio_immediate', 0, 'immediate');
      const started: string[] = [];
      const handler = async (job: Job) => {
        started.push(job.type);
        // Slow until IMMEDIATE has started, so the LOW backlog is still waiting
        // when it arrives; then quick, so the backlog drains before the next test.
        if (!started.includes(immType)) await sleep(300);
      };
      const lowIds = await enqueue(lowType, 200);
      await worker({ handlers: { [lowType]: handler, [immType]: handler }, concurrency: 1 });
      await eventually('the LOW backlog is being worked', async () => started.length >= 2, 10_000);
      const lowStartedBefore = started.length;
      await enqueue(immType, 1);
      await eventually('the IMMEDIATE job started', async () => started.includes(immType), 10_000);
      const lowStartedMeanwhile = started.indexOf(immType) - lowStartedBefore;
      // One slot: the LOW job running when IMMEDIATE arrived finishes, then
      // IMMEDIATE goes next (at most one more LOW start while its message travels).
      expect(lowStartedMeanwhile).toBeLessThanOrEqual(1);
      expect(lowIds.length - started.indexOf(immType)).toBeGreaterThanOrEqual(195);
      await eventually(
        'the LOW backlog drained',
        async () => started.filter((t) => t === lowType).length >= lowIds.length,
        30_000,
      );
    }, 60_000);

    it('fails twice then succeeds: attempts 1, 2, 3 and SUCCEEDED', async () => {
      const type = await newType('flaky', 5);
      const seen: number[] = [];
      await worker({
        handlers: {
          [type]: (job: Job) => {
            seen.push(job.attempt);
            if (job.attempt < 3) throw new Error(`boom ${job.attempt}`);
          },
        },
      });
      const [id] = await enqueue(type, 1);
      const done = await waitState(id as string, JobState.JOB_STATE_SUCCEEDED);
      expect(seen).toEqual([1, 2, 3]);
      expect(done.attempts).toBe(3);
    });

    it('always failing with max_retries 2: DEAD after 3 attempts, acked (not run again)', async () => {
      const type = await newType('doomed', 2);
      const seen: number[] = [];
      const w = await worker({
        handlers: {
          [type]: (job: Job) => {
            seen.push(job.attempt);
            throw new Error('always');
          },
        },
      });
      const [id] = await enqueue(type, 1);
      const dead = await waitState(id as string, JobState.JOB_STATE_DEAD);
      expect(dead.attempts).toBe(3);
      expect(dead.lastError).toContain('always');
      await sleep(1_500);
      expect(seen).toEqual([1, 2, 3]);
      expect(w.stats().dead).toBe(1);
    });

    it('NonRetryableError: DEAD after one attempt', async () => {
      const type = await newType('hopeless', 5);
      let runs = 0;
      await worker({
        handlers: {
          [type]: () => {
            runs++;
            throw new NonRetryableError('bad payload');
          },
        },
      });
      const [id] = await enqueue(type, 1);
      const dead = await waitState(id as string, JobState.JOB_STATE_DEAD);
      expect(dead.attempts).toBe(1);
      await sleep(1_000);
      expect(runs).toBe(1);
    });

    it('a timeout aborts the signal and counts as a failure (per job type timeout)', async () => {
      const type = await newType('slowpoke', 0);
      let reason: unknown;
      await worker({
        timeout: 60_000,
        handlers: {
          [type]: {
            timeout: 200,
            handle: (_job: Job, signal: AbortSignal) =>
              new Promise<void>((resolve) => {
                signal.addEventListener('abort', () => {
                  reason = signal.reason;
                  resolve();
                });
              }),
          },
        },
      });
      const [id] = await enqueue(type, 1);
      const dead = await waitState(id as string, JobState.JOB_STATE_DEAD);
      expect(reason).toBeInstanceOf(JobTimeoutError);
      expect(dead.lastError).toContain('timed out');
    });

    it('a job running longer than the ack deadline (10 s) is not redelivered meanwhile: the lease is extended', async () => {
      const type = await newType('long_runner', 0, 'medium');
      let runs = 0;
      await worker({
        handlers: {
          [type]: async () => {
            runs++;
            await sleep(12_500);
          },
        },
      });
      const [id] = await enqueue(type, 1);
      await waitState(id as string, JobState.JOB_STATE_SUCCEEDED, 25_000);
      expect(runs).toBe(1);
    }, 30_000);

    it('stop() during load loses nothing: a second worker takes over, each job runs once', async () => {
      const type = await newType('handover', 3, 'medium');
      const runs = new Map<string, number>();
      const handler = async (job: Job) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        await sleep(20);
      };
      const ids = await enqueue(type, 120);
      const first = await worker({ handlers: { [type]: handler }, concurrency: 4 });
      await eventually('the first worker is busy', async () => runs.size >= 20, 10_000);
      await first.stop();
      expect(first.stats().running).toBe(0);
      const ranByFirst = runs.size;
      expect(ranByFirst).toBeLessThan(ids.length);
      // stop() handed back what the first worker held: the second takes it at
      // once (a message left to its lease would take the 10 s ack deadline).
      await worker({ handlers: { [type]: handler }, concurrency: 4 });
      await eventually('every job ran', async () => ids.every((id) => runs.has(id)), 20_000);
      await eventually('every job SUCCEEDED', async () =>
        (await Promise.all(ids.map(record))).every((j) => j.state === JobState.JOB_STATE_SUCCEEDED),
      );
      expect([...runs.values()].filter((n) => n !== 1)).toEqual([]);
    }, 45_000);

    it('messages without job_id, and jobs with no handler, are handed back, never acked', async () => {
      const type = await newType('orphan', 3, 'low');
      const orphanId = jobIdOf(env.producerId, type);
      await lanes.publish('low', Buffer.from('not jack'), { hello: 'world' });
      await lanes.publish('low', Buffer.from('{}'), {
        job_id: orphanId,
        producer_id: env.producerId,
        job_type: type,
        priority: 'low',
        max_retries: '3',
      });
      const w = await worker({ handlers: { other_type: () => {} } });
      await eventually('both came and went back', async () => w.stats().returned >= 2, 10_000);
      await w.stop();
      // Both are still in the subscription: a raw lane source receives them.
      const got: Delivery[] = [];
      const backend = lanes.backend();
      const source = backend.lane(lanes.lanes.low, {
        maxMessages: 10,
        maxLeaseMs: 60_000,
        closeTimeoutMs: 2_000,
      });
      source.start(
        (d) => got.push(d),
        () => {},
      );
      await eventually(
        'both are redelivered',
        async () =>
          got.some((d) => d.attributes.hello === 'world') &&
          got.some((d) => d.attributes.job_id === orphanId),
        10_000,
      );
      for (const d of got) d.ack();
      await source.close();
      await backend.close();
    });
  },
);

describe.skipIf(skipWithoutEmulator())('worker SDK with Jack down', () => {
  it('jobs still run and are acked when Jack stops answering; reports are dropped and counted', async () => {
    const lanes = await createWorkerLanes(pubsubEmulatorHost());
    const env = await startJackForWorkers(lanes);
    try {
      const { results } = await env.client.enqueueBulk({
        jobs: Array.from({ length: 30 }, () => ({
          producerId: env.producerId,
          jobType: env.types.high,
        })),
      });
      await env.jack.close();
      const runs = new Map<string, number>();
      const w = createWorker({
        backend: lanes.backend(),
        lanes: lanes.lanes,
        handlers: {
          [env.types.high]: (job: Job) => void runs.set(job.id, (runs.get(job.id) ?? 0) + 1),
        },
        jack: env.client,
        reportTimeout: 300,
        logger: quiet,
      });
      await w.start();
      await eventually(
        'every job ran',
        async () => results.every((r) => runs.has(r.jobId)),
        20_000,
      );
      await sleep(1_500);
      await w.stop();
      expect([...runs.values()].filter((n) => n !== 1)).toEqual([]);
      expect(w.stats().succeeded).toBe(30);
      expect(w.stats().reportsDropped).toBeGreaterThan(0);
    } finally {
      env.client.close();
      await env.jack.close();
      await lanes.close();
    }
  }, 45_000);
});

describe.skipIf(skipWithoutEmulator())('worker SDK without Jack', () => {
  it('de-duplicates from its own memory of finished jobs and counts attempts itself; metrics say so', async () => {
    const lanes = await createWorkerLanes(pubsubEmulatorHost());
    const runs = new Map<string, number[]>();
    const w = createWorker({
      backend: lanes.backend(),
      lanes: { medium: lanes.lanes.medium },
      concurrency: 1,
      logger: quiet,
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      handlers: {
        local: (job: Job) => {
          runs.set(job.id, [...(runs.get(job.id) ?? []), job.attempt]);
          if (job.payload.toString() === 'flaky' && job.attempt < 3) throw new Error('not yet');
        },
      },
    });
    try {
      await w.start();
      const attributes = (jobId: string) => ({
        job_id: jobId,
        producer_id: 'prod_local',
        job_type: 'local',
        priority: 'medium',
        max_retries: '5',
      });
      await lanes.publish('medium', Buffer.from('once'), attributes('job-twice'));
      await lanes.publish('medium', Buffer.from('once'), attributes('job-twice'));
      await lanes.publish('medium', Buffer.from('flaky'), attributes('job-flaky'));
      await eventually(
        'both messages of job-twice settled and job-flaky succeeded',
        async () => w.stats().duplicates >= 1 && w.stats().succeeded >= 2,
        15_000,
      );
      expect(runs.get('job-twice')).toEqual([1]);
      expect(runs.get('job-flaky')).toEqual([1, 2, 3]);
      // The same story on the worker's Prometheus endpoint.
      const text = await (await fetch(`http://127.0.0.1:${w.metricsPort()}/metrics`)).text();
      expect(text).toContain('jack_worker_jobs_total{outcome="succeeded",job_type="local"} 2');
      expect(text).toContain('jack_worker_jobs_total{outcome="failed",job_type="local"} 2');
      expect(text).toContain('jack_worker_duplicates_skipped_total{job_type="local"} 1');
      expect(text).toContain('jack_worker_job_duration_seconds_count{job_type="local"} 4');
    } finally {
      await w.stop();
      await lanes.close();
    }
  }, 30_000);
});

describe.skipIf(skipWithoutEmulator())('worker SDK with a dead-letter policy', () => {
  it('takes the attempt from Pub/Sub’s delivery count', async () => {
    const lanes = await createWorkerLanes(pubsubEmulatorHost());
    const admin = new PubSub(emulatorClientOptions(lanes.project, lanes.host));
    const [deadTopic] = await admin.createTopic('dead-letters');
    const [sub] = await admin.topic('jobs-medium').createSubscription('work-medium-dlq', {
      ackDeadlineSeconds: 10,
      retryPolicy: { minimumBackoff: { nanos: 100_000_000 }, maximumBackoff: { seconds: 1 } },
      deadLetterPolicy: { deadLetterTopic: deadTopic.name, maxDeliveryAttempts: 5 },
    });
    const seen: number[] = [];
    // A worker-local count would say 1, 2, 3 as well: start the count at the
    // backend's by having another worker fail the first delivery.
    let failedOnce = false;
    const failer = createWorker({
      backend: lanes.backend(),
      lanes: { medium: 'work-medium-dlq' },
      logger: quiet,
      handlers: {
        counted: () => {
          failedOnce = true;
          throw new Error('first');
        },
      },
    });
    await failer.start();
    try {
      await lanes.publish('medium', Buffer.from('x'), {
        job_id: 'job-dlq',
        producer_id: 'prod_local',
        job_type: 'counted',
        priority: 'medium',
        max_retries: '5',
      });
      await eventually('the first delivery failed', async () => failedOnce, 10_000);
      await failer.stop();
      const w = createWorker({
        backend: lanes.backend(),
        lanes: { medium: 'work-medium-dlq' },
        logger: quiet,
        handlers: {
          counted: (job: Job) => {
            seen.push(job.attempt);
            if (job.attempt < 3) throw new Error('again');
          },
        },
      });
      await w.start();
      await eventually('succeeded', async () => w.stats().succeeded === 1, 20_000);
      await w.stop();
      expect(seen).toEqual([2, 3]);
    } finally {
      await sub.delete().catch(() => {});
      await deadTopic.delete().catch(() => {});
      await admin.close();
      await lanes.close();
    }
  }, 40_000);
});

describe.skipIf(skipWithoutEmulator())('worker SDK: createSubscriptions (development)', () => {
  it('creates a missing lane subscription filtered by its job types, and refuses without an emulator', async () => {
    const lanes = await createWorkerLanes(pubsubEmulatorHost());
    const ran: string[] = [];
    const w = createWorker({
      backend: pubsubBackend({
        projectId: lanes.project,
        emulatorHost: lanes.host,
        topics: { high: 'jobs-high', medium: 'jobs-medium' },
      }),
      lanes: { high: 'created-high' },
      logger: quiet,
      createSubscriptions: true,
      handlers: { wanted: (job: Job) => void ran.push(job.id) },
    });
    try {
      await w.start();
      const attributes = (jobId: string, type: string) => ({
        job_id: jobId,
        producer_id: 'prod_local',
        job_type: type,
        priority: 'high',
        max_retries: '1',
      });
      await lanes.publish('high', Buffer.from('{}'), attributes('job-unwanted', 'unwanted'));
      await lanes.publish('high', Buffer.from('{}'), attributes('job-wanted', 'wanted'));
      await eventually('the wanted job ran', async () => ran.includes('job-wanted'), 10_000);
      expect(ran).toEqual(['job-wanted']);
      // The subscription carries the filter (the emulator does not apply
      // filters, so the other type still arrives there: handed back, not run).
      const admin = new PubSub(emulatorClientOptions(lanes.project, lanes.host));
      const [metadata] = await admin.subscription('created-high').getMetadata();
      await admin.close();
      expect(metadata.filter).toBe('attributes.job_type = "wanted"');
      expect(metadata.topic).toBe(`projects/${lanes.project}/topics/jobs-high`);
    } finally {
      await w.stop();
    }
    const real = createWorker({
      backend: pubsubBackend({ projectId: lanes.project, topics: { medium: 'jobs-medium' } }),
      lanes: { medium: 'never-created' },
      logger: quiet,
      createSubscriptions: true,
      handlers: { wanted: () => {} },
    });
    await expect(real.start()).rejects.toThrow(/for development: refused without an emulator host/);
    await real.stop();
    await lanes.close();
  }, 30_000);
});
