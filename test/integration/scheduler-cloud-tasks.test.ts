/**
 * The Cloud Tasks scheduler on its own, driven directly through the
 * Scheduler interface, with the real client talking to the fake Cloud Tasks.
 */
import { status } from '@grpc/grpc-js';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { isJackError, type JackError } from '../../src/errors.js';
import { createJobIdGenerator } from '../../src/jobid/job-id.js';
import type { Job, OutboundMessage, Priority } from '../../src/queue/backend.js';
import { encodeMessage } from '../../src/queue/message.js';
import {
  createPubSubPublishTarget,
  PUBSUB_PUBLISH_SCOPE,
} from '../../src/queue/pubsub/publish-target.js';
import {
  CLOUD_TASKS_MAX_TASK_BYTES,
  type CloudTasksConfig,
  createCloudTasksScheduler,
  taskIdOfJob,
} from '../../src/scheduler/cloud-tasks.js';
import type { Scheduler } from '../../src/scheduler/scheduler.js';
import {
  cloudTasksEnv,
  type FakeCloudTasks,
  startFakeCloudTasks,
} from '../support/fake-cloud-tasks.js';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
const QUEUE_PATH = 'projects/tasks-proj/locations/europe-west1/queues/jack-delayed';
const SERVICE_ACCOUNT = 'jack-publisher@tasks-proj.iam.gserviceaccount.com';

const ids = createJobIdGenerator();

function message(options: { priority?: Priority; payload?: Buffer; runAt?: Date } = {}): {
  job: Job;
  message: OutboundMessage;
} {
  const createdAt = new Date();
  const job: Job = {
    id: ids.next('prod_0000abcd', 'send-email', createdAt.getTime()),
    producerId: 'prod_0000abcd',
    jobType: 'send-email',
    priority: options.priority ?? 'medium',
    payload: options.payload ?? Buffer.from('{"to":"a@example.com"}'),
    runAt: options.runAt ?? new Date(createdAt.getTime() + HOUR_MS),
    createdAt,
    traceId: 'trace-1',
    correlationId: 'corr-1',
    maxRetries: 7,
    shadow: false,
  };
  return { job, message: encodeMessage(job, 'native', createdAt) };
}

async function rejection(promise: Promise<unknown>): Promise<JackError> {
  try {
    await promise;
  } catch (err) {
    if (isJackError(err)) return err;
    throw err;
  }
  throw new Error('expected a JackError, but the call succeeded');
}

describe('Cloud Tasks scheduler', () => {
  let fake: FakeCloudTasks;
  let scheduler: Scheduler;
  let tasksConfig: CloudTasksConfig;

  beforeAll(async () => {
    fake = await startFakeCloudTasks();
  });
  afterAll(async () => {
    await fake.stop();
  });

  beforeEach(async () => {
    fake.failAll(undefined);
    const config = loadConfig({
      QUEUE_BACKEND: 'pubsub',
      PUBSUB_PROJECT: 'topics-proj',
      PUBSUB_TOPIC_MEDIUM: 'jobs-medium',
      PUBSUB_TOPIC_IMMEDIATE: 'jobs-immediate',
      PUBSUB_PUBLISH_TIMEOUT: '500ms',
      ...cloudTasksEnv(fake, {
        location: 'europe-west1',
        queue: 'jack-delayed',
        serviceAccount: SERVICE_ACCOUNT,
        pubsubRestEndpoint: 'https://pubsub.example.test/',
      }),
    });
    if (config.scheduler.kind !== 'cloud-tasks' || config.backend.kind !== 'pubsub') {
      throw new Error('test config must enable Pub/Sub and Cloud Tasks');
    }
    tasksConfig = config.scheduler;
    scheduler = await createCloudTasksScheduler({
      config: config.scheduler,
      target: createPubSubPublishTarget(config.backend, config.scheduler.pubsubRestEndpoint),
      timeoutMs: config.backend.publishTimeoutMs,
      logger: pino({ level: 'silent' }),
    });
  });
  afterEach(async () => {
    await scheduler.close();
  });

  const taskOf = (jobId: string) =>
    fake.tasks().find((t) => t.name === `${QUEUE_PATH}/tasks/${taskIdOfJob(jobId)}`);

  it('creates one task that POSTs the finished message to the topic at run_at', async () => {
    const { job, message: m } = message({ runAt: new Date(Date.now() + HOUR_MS + 123) });
    await scheduler.schedule(m, job.runAt);

    const task = taskOf(job.id);
    expect(task).toBeDefined();
    expect(task?.name).toMatch(
      new RegExp(`^${QUEUE_PATH}/tasks/[0-9a-f]{8}-${job.id}$`.replaceAll('/', '\\/')),
    );
    const runAtMs = job.runAt.getTime();
    expect(task?.scheduleTime).toEqual({
      seconds: String(Math.floor(runAtMs / 1000)),
      nanos: (runAtMs % 1000) * 1_000_000,
    });
    const request = task?.httpRequest;
    expect(request?.httpMethod).toBe('POST');
    expect(request?.url).toBe(
      'https://pubsub.example.test/v1/projects/topics-proj/topics/jobs-medium:publish',
    );
    expect(request?.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(request?.oauthToken).toEqual({
      serviceAccountEmail: SERVICE_ACCOUNT,
      scope: PUBSUB_PUBLISH_SCOPE,
    });
    const body = JSON.parse(request?.body.toString('utf8') ?? '') as {
      messages: { data: string; attributes: Record<string, string> }[];
    };
    expect(body.messages).toHaveLength(1);
    expect(Buffer.from(body.messages[0]?.data ?? '', 'base64')).toEqual(m.data);
    expect(body.messages[0]?.attributes).toEqual(m.attributes);
  });

  it('publishes to the priority topic, or to the medium topic when the priority has none', async () => {
    const urgent = message({ priority: 'immediate' });
    const low = message({ priority: 'low' });
    await scheduler.schedule(urgent.message, urgent.job.runAt);
    await scheduler.schedule(low.message, low.job.runAt);
    expect(taskOf(urgent.job.id)?.httpRequest?.url).toMatch(/\/topics\/jobs-immediate:publish$/);
    expect(taskOf(low.job.id)?.httpRequest?.url).toMatch(/\/topics\/jobs-medium:publish$/);
    const lowBody = JSON.parse(taskOf(low.job.id)?.httpRequest?.body.toString() ?? '') as {
      messages: { attributes: Record<string, string> }[];
    };
    expect(lowBody.messages[0]?.attributes.priority).toBe('low');
  });

  it('sends whatever request its publish target describes: no Pub/Sub knowledge of its own', async () => {
    const other = await createCloudTasksScheduler({
      config: tasksConfig,
      target: {
        kind: 'other-broker',
        url: (priority) => `https://broker.example.test/queues/${priority}/messages`,
        body: (msg) => Buffer.from(`${msg.jobId}:${msg.data.toString('base64')}`),
        headers: { 'Content-Type': 'text/plain' },
        oauthScope: 'https://broker.example.test/scope',
      },
      timeoutMs: 500,
      logger: pino({ level: 'silent' }),
    });
    try {
      const { job, message: m } = message({ priority: 'high' });
      await other.schedule(m, job.runAt);
      const request = taskOf(job.id)?.httpRequest;
      expect(request?.url).toBe('https://broker.example.test/queues/high/messages');
      expect(request?.headers).toEqual({ 'Content-Type': 'text/plain' });
      expect(request?.body.toString()).toBe(`${job.id}:${m.data.toString('base64')}`);
      expect(request?.oauthToken).toEqual({
        serviceAccountEmail: SERVICE_ACCOUNT,
        scope: 'https://broker.example.test/scope',
      });
    } finally {
      await other.close();
    }
  });

  it('scheduling the same job twice stores one task and succeeds both times', async () => {
    const { job, message: m } = message();
    const before = fake.tasks().length;
    await scheduler.schedule(m, job.runAt);
    await scheduler.schedule(m, job.runAt);
    expect(fake.tasks().length).toBe(before + 1);
  });

  it('a create whose reply was lost is retried, and ALREADY_EXISTS counts as success', async () => {
    const { job, message: m } = message();
    const before = fake.tasks().length;
    const creates = fake.calls.CreateTask;
    fake.failNext('CreateTask', { code: status.UNAVAILABLE, afterApplying: true });
    await scheduler.schedule(m, job.runAt);
    expect(fake.calls.CreateTask).toBe(creates + 2);
    expect(fake.tasks().length).toBe(before + 1);
    expect(taskOf(job.id)).toBeDefined();
  });

  it('refuses a task above the Cloud Tasks size limit before sending anything', async () => {
    // 760,000 bytes become ~1,013,000 in base64: over the limit although the
    // payload itself is below MAX_PAYLOAD_BYTES.
    const { job, message: m } = message({ payload: Buffer.alloc(760_000, 'x') });
    const creates = fake.calls.CreateTask;
    const err = await rejection(scheduler.schedule(m, job.runAt));
    expect(err.code).toBe('invalid_argument');
    expect(err.reason).toBe('payload_too_large');
    expect(err.message).toContain(`${CLOUD_TASKS_MAX_TASK_BYTES} bytes`);
    expect(fake.calls.CreateTask).toBe(creates);
    expect(taskOf(job.id)).toBeUndefined();
  });

  it('accepts a payload whose encoded task stays within the limit', async () => {
    const { job, message: m } = message({ payload: Buffer.alloc(700_000, 'x') });
    await scheduler.schedule(m, job.runAt);
    expect(taskOf(job.id)?.httpRequest?.body.length).toBeGreaterThan(900_000);
  });

  it('refuses a run_at beyond 30 days before sending anything, and accepts one within', async () => {
    const far = message({ runAt: new Date(Date.now() + 31 * DAY_MS) });
    const creates = fake.calls.CreateTask;
    const err = await rejection(scheduler.schedule(far.message, far.job.runAt));
    expect(err.code).toBe('invalid_argument');
    expect(err.reason).toBe('validation_error');
    expect(err.message).toContain('30 days');
    expect(fake.calls.CreateTask).toBe(creates);

    const near = message({ runAt: new Date(Date.now() + 29 * DAY_MS) });
    await scheduler.schedule(near.message, near.job.runAt);
    expect(taskOf(near.job.id)).toBeDefined();
  });

  it('reports Cloud Tasks being unavailable as unavailable', async () => {
    const { job, message: m } = message();
    fake.failAll(status.UNAVAILABLE);
    const err = await rejection(scheduler.schedule(m, job.runAt));
    expect(err.code).toBe('unavailable');
    expect(err.reason).toBe('unavailable');
    fake.failAll(undefined);
    expect(taskOf(job.id)).toBeUndefined();
  });

  it('reports a refusal that is not transient as internal, without retrying', async () => {
    const { job, message: m } = message();
    const creates = fake.calls.CreateTask;
    fake.failNext('CreateTask', { code: status.PERMISSION_DENIED });
    const err = await rejection(scheduler.schedule(m, job.runAt));
    expect(err.code).toBe('internal');
    expect(fake.calls.CreateTask).toBe(creates + 1);
  });

  it('cancel deletes the task; a second cancel is not_found', async () => {
    const { job, message: m } = message();
    await scheduler.schedule(m, job.runAt);
    await scheduler.cancel(job.id);
    expect(taskOf(job.id)).toBeUndefined();
    const err = await rejection(scheduler.cancel(job.id));
    expect(err.code).toBe('not_found');
    expect(err.message).toContain(job.id);
  });

  it('cancel of a job that was never scheduled is not_found', async () => {
    const { job } = message();
    const err = await rejection(scheduler.cancel(job.id));
    expect(err.code).toBe('not_found');
  });

  it('a delete whose reply was lost is retried and reported as done', async () => {
    const { job, message: m } = message();
    await scheduler.schedule(m, job.runAt);
    fake.failNext('DeleteTask', { code: status.UNAVAILABLE, afterApplying: true });
    await scheduler.cancel(job.id);
    expect(taskOf(job.id)).toBeUndefined();
  });

  it('check passes while Cloud Tasks answers and fails while it is unavailable', async () => {
    await expect(scheduler.check()).resolves.toBeUndefined();
    fake.failAll(status.UNAVAILABLE);
    const err = await rejection(scheduler.check());
    expect(err.code).toBe('unavailable');
    fake.failAll(undefined);
    await expect(scheduler.check()).resolves.toBeUndefined();
  });

  it('close is safe to call twice', async () => {
    await scheduler.close();
    await scheduler.close();
  });
});

describe('Cloud Tasks scheduler with Cloud Tasks gone', () => {
  it('check and schedule fail as unavailable once the server has stopped', async () => {
    const fake = await startFakeCloudTasks();
    const config = loadConfig({
      QUEUE_BACKEND: 'pubsub',
      PUBSUB_PROJECT: 'topics-proj',
      PUBSUB_TOPIC_MEDIUM: 'jobs-medium',
      PUBSUB_PUBLISH_TIMEOUT: '500ms',
      ...cloudTasksEnv(fake, {
        location: 'europe-west1',
        queue: 'jack-delayed',
        serviceAccount: SERVICE_ACCOUNT,
      }),
    });
    if (config.scheduler.kind !== 'cloud-tasks' || config.backend.kind !== 'pubsub') {
      throw new Error('test config must enable Pub/Sub and Cloud Tasks');
    }
    const scheduler = await createCloudTasksScheduler({
      config: config.scheduler,
      target: createPubSubPublishTarget(config.backend, config.scheduler.pubsubRestEndpoint),
      timeoutMs: config.backend.publishTimeoutMs,
      logger: pino({ level: 'silent' }),
    });
    try {
      await scheduler.check();
      await fake.stop();
      expect((await rejection(scheduler.check())).code).toBe('unavailable');
      const { job, message: m } = message();
      expect((await rejection(scheduler.schedule(m, job.runAt))).code).toBe('unavailable');
    } finally {
      await scheduler.close();
      await fake.stop();
    }
  });
});
