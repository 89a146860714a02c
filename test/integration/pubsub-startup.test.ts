/**
 * Issue 3, startup: a configured topic that does not exist stops the built
 * service with one stderr line naming it; PUBSUB_CREATE_TOPICS creates the
 * topics; PUBSUB_VERIFY_TOPICS=false starts without checking, and health then
 * follows publish outcomes. The spawned test runs dist/main.js: `make test`
 * builds it first (alone: `make build`).
 */
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { isJackError } from '../../src/errors.js';
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { PRIORITIES } from '../../src/queue/backend.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { healthStatus, waitForHealth } from '../support/health-client.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { freePort } from '../support/pubsub-emulator.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';
import { type SpawnedJack, spawnJack } from '../support/spawn.js';

function job(): EnqueueRequest {
  return {
    producerId: 'prod_startup',
    jobType: 'send_email',
    payload: Buffer.from('{}'),
    runAt: undefined,
    traceId: '',
    correlationId: '',
    idempotencyKey: '',
  };
}

describe.skipIf(skipWithoutEmulator())('Pub/Sub backend: startup', () => {
  let pubsub: PubSubFixture | undefined;
  let jack: RunningJack | undefined;
  let spawned: SpawnedJack | undefined;
  afterEach(async () => {
    await spawned?.kill();
    await jack?.close();
    await pubsub?.close();
    spawned = undefined;
    jack = undefined;
  });

  it('exits non-zero with one stderr line naming a configured topic that does not exist', async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities: ['medium', 'low'] });
    spawned = spawnJack({ env: { ...pubsub.env(), GRPC_HOST: '127.0.0.1', GRPC_PORT: '0' } });
    const exit = await spawned.exited;
    expect(exit.code).toBe(1);
    const lines = spawned.stderr().trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`projects/${pubsub.project}/topics/jobs-immediate`);
    expect(lines[0]).toContain('PUBSUB_TOPIC_IMMEDIATE');
    expect(lines[0]).toContain(`projects/${pubsub.project}/topics/jobs-high`);
    expect(lines[0]).not.toContain('jobs-medium');
    expect(lines[0]).toContain('PUBSUB_CREATE_TOPICS');
    expect(spawned.logs.some((l) => String(l.msg).startsWith('jack listening'))).toBe(false);
  });

  it('fails startup within the publish timeout when Pub/Sub cannot be reached', async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const started = startJack({
      QUEUE_BACKEND: 'pubsub',
      PUBSUB_PROJECT: 'unreachable',
      PUBSUB_TOPIC_MEDIUM: 'jobs-medium',
      PUBSUB_EMULATOR_HOST: nobody,
      PUBSUB_PUBLISH_TIMEOUT: '500ms',
    });
    const err = await started.then(
      (running) => {
        jack = running;
        return undefined;
      },
      (e: unknown) => e,
    );
    expect(isJackError(err, 'unavailable')).toBe(true);
    expect((err as Error).message).toContain(`cannot reach Pub/Sub at ${nobody}`);
  });

  it('PUBSUB_CREATE_TOPICS=true creates every configured topic', async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost(), { create: false });
    for (const p of PRIORITIES) expect(await pubsub.topicExists(p)).toBe(false);

    jack = await startJack({ ...pubsub.env(), PUBSUB_CREATE_TOPICS: 'true' });
    for (const p of PRIORITIES) expect(await pubsub.topicExists(p)).toBe(true);
    expect(jack.logs.filter((l) => l.msg.startsWith('created Pub/Sub topic'))).toHaveLength(4);
    const res = await call(jack.jobs, 'enqueue', job());
    expect(res.jobId).not.toBe('');
  });

  it('PUBSUB_VERIFY_TOPICS=false starts without the check; health follows publish outcomes', async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost(), { create: false });
    jack = await startJack({
      ...pubsub.env(['medium']),
      PUBSUB_VERIFY_TOPICS: 'false',
      HEALTH_CHECK_INTERVAL: '100ms',
    });
    expect(await healthStatus(jack.address, 'jack.BackgroundJobs')).toBe('SERVING');

    // The topic is missing: not a reachability problem, so INTERNAL.
    const err = await callError(call(jack.jobs, 'enqueue', job()));
    expect(err.code).toBe(status.INTERNAL);
    await waitForHealth(jack.address, 'NOT_SERVING', 'jack.BackgroundJobs');

    await pubsub.createTopics(['medium']);
    const res = await call(jack.jobs, 'enqueue', job());
    await waitForHealth(jack.address, 'SERVING', 'jack.BackgroundJobs');
    const messages = await pubsub.pull('medium', 1);
    expect(messages.map((m) => m.attributes.job_id)).toEqual([res.jobId]);
  });
});
