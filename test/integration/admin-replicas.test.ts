/**
 * SPEC §10 updates and deletes with two Jack replicas (the real app,
 * in-process) on one bucket of the fake GCS server: routing follows an
 * update at once on the replica that made it and within
 * CONFIG_REFRESH_INTERVAL on the other; concurrent updates lose nothing; a
 * delete racing a create is never half-applied.
 */

import { randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { eventually } from '../support/eventually.js';
import type { FakeGcs } from '../support/fake-gcs.js';
import { type GcsReplicas, REPLICAS_BUCKET, startGcsReplicas } from '../support/gcs-replicas.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import type { RecordingBackend } from '../support/recording-backend.js';
import { BLANK_JOB_TYPE, BLANK_PRODUCER } from '../support/registry.js';

describe('admin updates and deletes across two replicas on GCS', () => {
  let gcs: FakeGcs;
  let a: RunningJack;
  let b: RunningJack;
  let aBackend: RecordingBackend;
  let bBackend: RecordingBackend;
  let replicas: GcsReplicas | undefined;

  beforeAll(async () => {
    replicas = await startGcsReplicas({ GCS_PREFIX: 'jack/' });
    ({ gcs, a, b, aBackend, bBackend } = replicas);
  });
  afterAll(() => replicas?.close());

  const createProducer = async (jack: RunningJack, name: string) =>
    (await call(jack.admin, 'createProducer', { name, description: '' })).producer?.producerId ??
    '';
  const createJobType = (jack: RunningJack, producerId: string, name: string, queue: Queue) =>
    call(jack.admin, 'createJobType', { producerId, name, queue, maxRetries: 2, description: '' });
  const enqueue = (jack: RunningJack, producerId: string, jobType: string) =>
    call(jack.jobs, 'enqueue', enqueueRequest({ producerId, jobType, payload: Buffer.from('{}') }));

  it('an updated queue routes at once on the writing replica and within a refresh on the other', async () => {
    const producerId = await createProducer(a, 'billing');
    await createJobType(a, producerId, 'invoice', Queue.QUEUE_HIGH);
    await eventually('replica B knows the job type', async () => {
      const res = await enqueue(b, producerId, 'invoice');
      return res.errorMessages.length === 0;
    });
    expect(bBackend.last().priority).toBe('high');

    await call(a.admin, 'updateJobType', {
      jobType: {
        ...BLANK_JOB_TYPE,
        producerId,
        name: 'invoice',
        queue: Queue.QUEUE_LOW,
      },
      updateMask: ['queue'],
    });
    // The replica that made the change: no waiting at all.
    await enqueue(a, producerId, 'invoice');
    expect(aBackend.last().priority).toBe('low');
    await eventually('replica B routes by the new queue', async () => {
      await enqueue(b, producerId, 'invoice');
      return bBackend.last().priority === 'low';
    });
  });

  it('concurrent updates of different fields on the two replicas are both kept', async () => {
    const producerId = await createProducer(a, 'shared');
    await eventually('replica B knows the producer', async () => {
      return b.app.store.getProducer(producerId) !== undefined;
    });
    const base = {
      ...BLANK_PRODUCER,
      producerId,
    };
    await Promise.all([
      call(a.admin, 'updateProducer', {
        producer: { ...base, name: 'renamed on A' },
        updateMask: ['name'],
      }),
      call(b.admin, 'updateProducer', {
        producer: { ...base, principals: ['svc@example.com'] },
        updateMask: ['principals'],
      }),
    ]);
    for (const jack of [a, b]) {
      await eventually('both updates are visible', async () => {
        const { producer } = await call(jack.admin, 'getProducer', { producerId });
        return producer?.name === 'renamed on A' && producer.principals[0] === 'svc@example.com';
      });
    }
  });

  it('a producer deleted on A racing a job type created on B leaves nothing behind; B’s jobs become unregistered', async () => {
    for (let round = 0; round < 3; round++) {
      const producerId = await createProducer(a, `doomed-${round}`);
      await eventually('replica B knows the producer', async () => {
        return b.app.store.getProducer(producerId) !== undefined;
      });
      const [deleted, created] = await Promise.allSettled([
        call(a.admin, 'deleteProducer', { producerId }),
        createJobType(b, producerId, 'racing', Queue.QUEUE_HIGH),
      ]);
      expect(deleted.status).toBe('fulfilled');
      if (created.status === 'rejected') {
        expect((created.reason as { details: string }).details).toBe(
          `producer not found: ${producerId}`,
        );
      }
      expect(gcs.getObject(REPLICAS_BUCKET, 'jack/job_types.json')?.text ?? '').not.toContain(
        producerId,
      );
      await eventually('replica B warns about the deleted producer', async () => {
        const res = await enqueue(b, producerId, 'racing');
        return res.errorMessages.includes(`unregistered producer_id: ${producerId}`);
      });
    }
  });
});

/**
 * QA of SPEC §10 across replicas over real sockets: a replica whose
 * snapshot still holds a producer that another replica deleted must not
 * update it back to life, give it a job type or an API key, or update its
 * job type (no refresh runs during the test: the stale view is certain).
 */
const BOOTSTRAP = `boot-${randomBytes(24).toString('hex')}`;
const ADMIN = { authorization: `Bearer ${BOOTSTRAP}` };

describe('writes on a replica that has not seen a delete yet', () => {
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
