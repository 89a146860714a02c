/**
 * SPEC §9 with the scheduler: a future job with an idempotency key becomes
 * one Cloud Task however often it is sent. A repeat is answered from the
 * key; a retry after an unknown outcome (the task was created but the
 * answer was lost) reuses the job id, so its task name is the same and
 * Cloud Tasks recognises it. Jack on the emulator and the fake Cloud Tasks.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pubsubEmulatorHost, skipWithoutEmulator, uniqueName } from '../support/emulator.js';
import {
  cloudTasksEnv,
  expectedTaskName,
  type FakeCloudTasks,
  startFakeCloudTasks,
} from '../support/fake-cloud-tasks.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';

const QUEUE_PATH = 'projects/tasks-proj/locations/us-central1/queues/jack-scheduled';
const taskName = (jobId: string) => expectedTaskName(QUEUE_PATH, jobId);

describe.skipIf(skipWithoutEmulator())('idempotent enqueue of scheduled jobs', () => {
  let fake: FakeCloudTasks;
  let pubsub: PubSubFixture;
  let jack: RunningJack;

  beforeAll(async () => {
    fake = await startFakeCloudTasks();
    pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities: ['medium'] });
    jack = await startJack({
      ...pubsub.env(['medium']),
      PUBSUB_PUBLISH_TIMEOUT: '2s',
      LOG_LEVEL: 'warn',
      ...cloudTasksEnv(fake, {
        location: 'us-central1',
        queue: 'jack-scheduled',
        serviceAccount: 'jack@tasks-proj.iam.gserviceaccount.com',
        pubsubRestEndpoint: `http://${pubsub.host}`,
      }),
    });
  });
  afterAll(async () => {
    await jack?.close();
    await pubsub?.close();
    await fake?.stop();
  });

  const future = (key: string) =>
    enqueueRequest({
      producerId: uniqueName('prod-sched'),
      jobType: 'send_invoice',
      payload: Buffer.from('{"invoice":42}'),
      runAt: new Date(Date.now() + 3_600_000),
      idempotencyKey: key,
    });

  it('answers a repeat from the key: one task, no second CreateTask', async () => {
    const request = future('invoice-42');
    const before = fake.calls.CreateTask;
    const first = await call(jack.jobs, 'enqueue', request);
    const second = await call(jack.jobs, 'enqueue', request);
    expect(second).toMatchObject({ jobId: first.jobId, duplicate: true });
    expect(fake.calls.CreateTask).toBe(before + 1);
    expect(fake.tasks().filter((t) => t.name === taskName(first.jobId))).toHaveLength(1);
  });

  it('retries a schedule whose answer was lost under the same task name: still one task', async () => {
    const request = future('invoice-43');
    const tasksBefore = fake.tasks().length;
    // The task is created, but the reply is lost: Jack cannot know, and
    // ABORTED is not retried inside the scheduler, so the caller sees UNAVAILABLE.
    fake.failNext('CreateTask', { code: status.ABORTED, afterApplying: true });
    const lost = await callError(call(jack.jobs, 'enqueue', request));
    expect(lost.code).toBe(status.UNAVAILABLE);
    expect(fake.tasks().length).toBe(tasksBefore + 1);

    const retry = await call(jack.jobs, 'enqueue', request);
    expect(retry.duplicate).toBe(false);
    expect(fake.tasks().length).toBe(tasksBefore + 1);
    expect(fake.tasks().at(-1)?.name).toBe(taskName(retry.jobId));
    expect(await call(jack.jobs, 'enqueue', request)).toMatchObject({
      jobId: retry.jobId,
      duplicate: true,
    });
  });
});
