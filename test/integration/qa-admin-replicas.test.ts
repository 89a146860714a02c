/**
 * QA of SPEC §10 across replicas over real sockets: a replica whose
 * snapshot still holds a producer that another replica deleted must not
 * update it back to life, give it a job type or an API key, or update its
 * job type (no refresh runs during the test: the stale view is certain).
 */
import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { BLANK_JOB_TYPE, BLANK_PRODUCER } from '../support/registry.js';

const BOOTSTRAP = `boot-${randomBytes(24).toString('hex')}`;
const ADMIN = { authorization: `Bearer ${BOOTSTRAP}` };

describe('QA §10: writes on a replica that has not seen a delete yet', () => {
  let a: RunningJack;
  let b: RunningJack;
  beforeAll(async () => {
    const objects = createMemoryObjects();
    const env = {
      AUTH_MODE: 'on',
      AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP,
      CONFIG_REFRESH_INTERVAL: '1h',
      LOG_LEVEL: 'warn',
    };
    a = await startJack(env, { memoryObjects: objects });
    b = await startJack(env, { memoryObjects: objects });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('answers NOT_FOUND and revives nothing', async () => {
    const { producer } = await call(
      a.admin,
      'createProducer',
      { name: 'gone', description: '' },
      ADMIN,
    );
    const producerId = producer?.producerId as string;
    await call(
      a.admin,
      'createJobType',
      { producerId, name: 'send', queue: Queue.QUEUE_HIGH, maxRetries: 2, description: '' },
      ADMIN,
    );
    await b.app.store.refresh();
    expect(b.app.store.getProducer(producerId)).toBeDefined();
    await call(a.admin, 'deleteProducer', { producerId }, ADMIN);
    // b still has the producer and its job type in its snapshot.
    expect(b.app.store.getProducer(producerId)).toBeDefined();

    const notFound = { code: status.NOT_FOUND, details: `producer not found: ${producerId}` };
    expect(
      await callError(
        call(
          b.admin,
          'updateProducer',
          {
            producer: {
              ...BLANK_PRODUCER,
              producerId,
              name: 'back',
            },
            updateMask: ['name'],
          },
          ADMIN,
        ),
      ),
    ).toEqual(notFound);
    expect(
      await callError(
        call(
          b.admin,
          'createJobType',
          { producerId, name: 'other', queue: 0, maxRetries: 0, description: '' },
          ADMIN,
        ),
      ),
    ).toEqual(notFound);
    expect(
      await callError(
        call(
          b.admin,
          'updateJobType',
          {
            jobType: {
              ...BLANK_JOB_TYPE,
              producerId,
              name: 'send',
              queue: Queue.QUEUE_LOW,
            },
            updateMask: ['queue'],
          },
          ADMIN,
        ),
      ),
    ).toMatchObject({ code: status.NOT_FOUND });
    const key = await callError(
      call(b.admin, 'createApiKey', { producerId, description: '', role: 0 }, ADMIN),
    );
    expect(key).toEqual(notFound);

    // Nothing came back, on either replica.
    await a.app.store.refresh();
    await b.app.store.refresh();
    for (const jack of [a, b]) {
      expect(jack.app.store.getProducer(producerId)).toBeUndefined();
      expect(jack.app.store.listJobTypes(producerId)).toEqual([]);
      expect(jack.app.store.listApiKeys(producerId)).toEqual([]);
      const enqueued = await call(
        jack.jobs,
        'enqueue',
        enqueueRequest({ producerId, jobType: 'send' }),
        ADMIN,
      );
      expect(enqueued.errorMessages).toContain(`unregistered producer_id: ${producerId}`);
    }
  });
});
