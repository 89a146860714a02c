/**
 * Scheduled jobs end to end: Jack over gRPC with the Pub/Sub backend on the
 * emulator and the Cloud Tasks scheduler on the fake. A task is "fired" by
 * performing its recorded HTTP request against the emulator's REST endpoint,
 * as Cloud Tasks would at schedule_time.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { JobState } from '../../src/gen/jack/jobs.js';
import { Queue } from '../../src/gen/jack/storage.js';
import { decodeJobId } from '../../src/jobid/job-id.js';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import {
  cloudTasksEnv,
  type FakeCloudTasks,
  type FakeTask,
  startFakeCloudTasks,
  expectedTaskName as taskNameOf,
} from '../support/fake-cloud-tasks.js';
import { createHealthClient } from '../support/health-client.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const QUEUE_PATH = 'projects/tasks-proj/locations/us-central1/queues/jack-scheduled';
const SERVICE_ACCOUNT = 'jack-publisher@tasks-proj.iam.gserviceaccount.com';
const JOB_TYPE = 'send-invoice';

const expectedTaskName = (jobId: string) => taskNameOf(QUEUE_PATH, jobId);

describe.skipIf(skipWithoutEmulator())('scheduled jobs through Cloud Tasks', () => {
  let fake: FakeCloudTasks;
  let pubsub: PubSubFixture;
  /** Jack with the Cloud Tasks scheduler. */
  let jack: RunningJack;
  /** Jack without a scheduler, same topics and the same config store. */
  let plain: RunningJack;
  let producerId: string;

  beforeAll(async () => {
    fake = await startFakeCloudTasks();
    pubsub = await createPubSubFixture(pubsubEmulatorHost());
    const memoryObjects = createMemoryObjects();
    const env = { ...pubsub.env(), PUBSUB_PUBLISH_TIMEOUT: '2s', LOG_LEVEL: 'warn' };
    jack = await startJack(
      {
        ...env,
        ...cloudTasksEnv(fake, {
          location: 'us-central1',
          queue: 'jack-scheduled',
          serviceAccount: SERVICE_ACCOUNT,
          pubsubRestEndpoint: `http://${pubsub.host}`,
        }),
      },
      { memoryObjects },
    );
    plain = await startJack(env, { memoryObjects });
    const { producer } = await call(jack.admin, 'createProducer', {
      name: 'billing',
      description: '',
    });
    producerId = producer?.producerId ?? '';
    await call(jack.admin, 'createJobType', {
      producerId,
      name: JOB_TYPE,
      queue: Queue.QUEUE_HIGH,
      maxRetries: 4,
      description: '',
    });
    // The second replica reads the shared store on its next refresh; force it.
    await plain.app.store.refresh();
  });

  afterAll(async () => {
    await jack?.close();
    await plain?.close();
    await pubsub?.close();
    await fake?.stop();
  });

  const request = (overrides: Partial<EnqueueRequest> = {}): EnqueueRequest => ({
    producerId,
    jobType: JOB_TYPE,
    payload: Buffer.from('{"invoice":42}'),
    runAt: undefined,
    traceId: 'trace-abc',
    correlationId: 'corr-xyz',
    idempotencyKey: '',
    ...overrides,
  });
  const inOneHour = () => new Date(Date.now() + HOUR_MS);
  const taskOf = (jobId: string): FakeTask | undefined =>
    fake.tasks().find((t) => t.name === expectedTaskName(jobId));

  /** Performs the task's HTTP request, as Cloud Tasks does when it fires (minus the OAuth token). */
  const fire = async (task: FakeTask): Promise<Response> => {
    const http = task.httpRequest;
    if (http === undefined) throw new Error(`task ${task.name} has no HTTP request`);
    const headers = Object.fromEntries(
      Object.entries(http.headers).filter(([name]) => name.toLowerCase() !== 'authorization'),
    );
    return fetch(http.url, { method: http.httpMethod, headers, body: http.body });
  };

  it('a future job becomes one task that, fired, lands exactly as an immediate publish would', async () => {
    const runAt = new Date(Math.floor(Date.now() / 1000) * 1000 + HOUR_MS + 250);
    const tasksBefore = fake.tasks().length;
    const scheduled = await call(jack.jobs, 'enqueue', request({ runAt }), { shadow: 'true' });
    expect(scheduled.errorMessages).toEqual([]);
    expect(fake.tasks().length).toBe(tasksBefore + 1);

    const task = taskOf(scheduled.jobId);
    expect(task).toBeDefined();
    if (task === undefined) return;
    expect(task.scheduleTime).toEqual({
      seconds: String(Math.floor(runAt.getTime() / 1000)),
      nanos: 250_000_000,
    });
    const http = task.httpRequest;
    expect(http?.httpMethod).toBe('POST');
    expect(http?.url).toBe(
      `http://${pubsub.host}/v1/projects/${pubsub.project}/topics/${pubsub.topics.high}:publish`,
    );
    expect(http?.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(http?.oauthToken).toEqual({
      serviceAccountEmail: SERVICE_ACCOUNT,
      scope: 'https://www.googleapis.com/auth/cloud-platform',
    });
    // Nothing is published before the task fires.
    expect(await pubsub.drain('high')).toEqual([]);

    const response = await fire(task);
    expect(response.status).toBe(200);
    const [fired] = await pubsub.pull('high', 1);

    // The same job sent by a Jack without a scheduler is published at once,
    // with the same run_at: the reference for "an immediate publish".
    const immediate = await call(plain.jobs, 'enqueue', request({ runAt }), { shadow: 'true' });
    const [reference] = await pubsub.pull('high', 1);

    expect(fired?.data).toEqual(Buffer.from('{"invoice":42}'));
    expect(fired?.data).toEqual(reference?.data);
    const createdAt = decodeJobId(scheduled.jobId).createdAt.toISOString();
    expect(fired?.attributes).toEqual({
      job_id: scheduled.jobId,
      producer_id: producerId,
      job_type: JOB_TYPE,
      priority: 'high',
      run_at: runAt.toISOString(),
      created_at: createdAt,
      max_retries: '4',
      shadow: 'true',
      trace_id: 'trace-abc',
      correlation_id: 'corr-xyz',
    });
    // Only the job's own identity (id and creation time) differs.
    expect(reference?.attributes).toEqual({
      ...fired?.attributes,
      job_id: immediate.jobId,
      created_at: decodeJobId(immediate.jobId).createdAt.toISOString(),
    });
  });

  it('a job below SCHEDULE_THRESHOLD is published now, not scheduled', async () => {
    const runAt = new Date(Date.now() + 20_000);
    const tasksBefore = fake.tasks().length;
    const { jobId } = await call(jack.jobs, 'enqueue', request({ runAt }));
    expect(fake.tasks().length).toBe(tasksBefore);
    const [message] = await pubsub.pull('high', 1);
    expect(message?.attributes.job_id).toBe(jobId);
    expect(message?.attributes.run_at).toBe(runAt.toISOString());
  });

  it('without Cloud Tasks configured a future job is published now with its run_at', async () => {
    const runAt = inOneHour();
    const tasksBefore = fake.tasks().length;
    const { jobId } = await call(plain.jobs, 'enqueue', request({ runAt }));
    expect(fake.tasks().length).toBe(tasksBefore);
    const [message] = await pubsub.pull('high', 1);
    expect(message?.attributes.job_id).toBe(jobId);
    expect(message?.attributes.run_at).toBe(runAt.toISOString());
  });

  it('CancelJob deletes the task; a second cancel is NOT_FOUND', async () => {
    const { jobId } = await call(jack.jobs, 'enqueue', request({ runAt: inOneHour() }));
    expect(taskOf(jobId)).toBeDefined();
    // SPEC §14: held by the scheduler, the job reads SCHEDULED; cancelled, CANCELLED.
    expect((await call(jack.ledger, 'getJob', { jobId })).state).toBe(JobState.JOB_STATE_SCHEDULED);
    await call(jack.jobs, 'cancelJob', { producerId, jobId });
    expect(taskOf(jobId)).toBeUndefined();
    expect((await call(jack.ledger, 'getJob', { jobId })).state).toBe(JobState.JOB_STATE_CANCELLED);
    const again = await callError(call(jack.jobs, 'cancelJob', { producerId, jobId }));
    expect(again.code).toBe(status.NOT_FOUND);
    expect(again.details).toContain(jobId);
  });

  it('CancelJob refuses a wrong producer and a malformed id, and keeps the task', async () => {
    const { jobId } = await call(jack.jobs, 'enqueue', request({ runAt: inOneHour() }));
    const wrong = await callError(
      call(jack.jobs, 'cancelJob', { producerId: 'prod_ffffffff', jobId }),
    );
    expect(wrong.code).toBe(status.INVALID_ARGUMENT);
    const malformed = await callError(
      call(jack.jobs, 'cancelJob', { producerId, jobId: 'pjob_not-a-job-id' }),
    );
    expect(malformed.code).toBe(status.INVALID_ARGUMENT);
    expect(taskOf(jobId)).toBeDefined();
  });

  it('CancelJob of a job that was published at once is NOT_FOUND', async () => {
    const { jobId } = await call(jack.jobs, 'enqueue', request());
    await pubsub.pull('high', 1);
    const err = await callError(call(jack.jobs, 'cancelJob', { producerId, jobId }));
    expect(err.code).toBe(status.NOT_FOUND);
  });

  it('CancelJob without a scheduler is FAILED_PRECONDITION', async () => {
    const { jobId } = await call(plain.jobs, 'enqueue', request());
    await pubsub.pull('high', 1);
    const err = await callError(call(plain.jobs, 'cancelJob', { producerId, jobId }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
  });

  it('refuses a job whose task would be too large, naming the Cloud Tasks limit', async () => {
    const tasksBefore = fake.tasks().length;
    // Below MAX_PAYLOAD_BYTES (1 MiB), but above 1 MB once base64-encoded in the task.
    const payload = Buffer.alloc(800_000, 'a');
    const err = await callError(
      call(jack.jobs, 'enqueue', request({ payload, runAt: inOneHour() })),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/Cloud Tasks limit of 1000000 bytes/);
    expect(fake.tasks().length).toBe(tasksBefore);
  });

  it('refuses a run_at beyond 30 days, naming the limit', async () => {
    const tasksBefore = fake.tasks().length;
    const runAt = new Date(Date.now() + 31 * DAY_MS);
    const err = await callError(call(jack.jobs, 'enqueue', request({ runAt })));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/30 days/);
    expect(fake.tasks().length).toBe(tasksBefore);
  });

  it('a bulk of immediate, scheduled and refused jobs reports each one', async () => {
    const tasksBefore = fake.tasks().length;
    const { results } = await call(jack.jobs, 'enqueueBulk', {
      jobs: [
        request({ correlationId: 'now' }),
        request({ correlationId: 'later', runAt: inOneHour() }),
        request({
          correlationId: 'too-large',
          runAt: inOneHour(),
          payload: Buffer.alloc(800_000, 'b'),
        }),
        request({ correlationId: 'too-far', runAt: new Date(Date.now() + 40 * DAY_MS) }),
        request({ correlationId: 'later-too', runAt: new Date(Date.now() + 2 * DAY_MS) }),
      ],
    });
    expect(results.map((r) => [r.index, r.correlationId, r.reason, r.jobId !== ''])).toEqual([
      [0, 'now', '', true],
      [1, 'later', '', true],
      [2, 'too-large', 'payload_too_large', false],
      [3, 'too-far', 'validation_error', false],
      [4, 'later-too', '', true],
    ]);
    expect(results[2]?.error).toMatch(/Cloud Tasks limit/);
    expect(results[3]?.error).toMatch(/30 days/);
    expect(fake.tasks().length).toBe(tasksBefore + 2);
    expect(taskOf(results[1]?.jobId ?? '')).toBeDefined();
    expect(taskOf(results[4]?.jobId ?? '')).toBeDefined();
    const published = await pubsub.pull('high', 1);
    expect(published.map((m) => m.attributes.job_id)).toEqual([results[0]?.jobId]);
  });

  it('a create whose reply was lost is retried: one success, one task', async () => {
    const tasksBefore = fake.tasks().length;
    const createsBefore = fake.calls.CreateTask;
    fake.failNext('CreateTask', { code: status.UNAVAILABLE, afterApplying: true });
    const { jobId } = await call(jack.jobs, 'enqueue', request({ runAt: inOneHour() }));
    expect(fake.calls.CreateTask).toBe(createsBefore + 2);
    expect(fake.tasks().length).toBe(tasksBefore + 1);
    expect(taskOf(jobId)).toBeDefined();
  });

  it('Cloud Tasks unreachable: scheduling is UNAVAILABLE and BackgroundJobs NOT_SERVING', async () => {
    const health = createHealthClient(jack.address);
    const serving = (service: string) => health.check(service);
    try {
      expect(await serving('jack.BackgroundJobs')).toBe('SERVING');
      fake.failAll(status.UNAVAILABLE);
      const err = await callError(call(jack.jobs, 'enqueue', request({ runAt: inOneHour() })));
      expect(err.code).toBe(status.UNAVAILABLE);
      await jack.app.health.checkNow();
      expect(await serving('jack.BackgroundJobs')).toBe('NOT_SERVING');
      expect(await serving('')).toBe('NOT_SERVING');
      fake.failAll(undefined);
      await jack.app.health.checkNow();
      expect(await serving('jack.BackgroundJobs')).toBe('SERVING');
    } finally {
      fake.failAll(undefined);
      health.close();
    }
  });
});
