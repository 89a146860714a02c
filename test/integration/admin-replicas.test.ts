/**
 * SPEC §10 updates and deletes with two Jack replicas (the real app,
 * in-process) on one bucket of the fake GCS server: routing follows an
 * update at once on the replica that made it and within
 * CONFIG_REFRESH_INTERVAL on the other; concurrent updates lose nothing; a
 * delete racing a create is never half-applied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import { eventually } from '../support/eventually.js';
import type { FakeGcs } from '../support/fake-gcs.js';
import { type GcsReplicas, REPLICAS_BUCKET, startGcsReplicas } from '../support/gcs-replicas.js';
import { call, enqueueRequest, type RunningJack } from '../support/jack.js';
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
