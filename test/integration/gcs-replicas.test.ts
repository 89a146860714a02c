/**
 * Two Jack replicas (the real app, in-process) sharing one bucket of the
 * fake GCS server: what one learns the other learns within a refresh
 * interval, and a store outage leaves enqueue working from the snapshot.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import { eventually } from '../support/eventually.js';
import type { FakeGcs } from '../support/fake-gcs.js';
import { type GcsReplicas, REPLICAS_BUCKET, startGcsReplicas } from '../support/gcs-replicas.js';
import { healthStatus, waitForHealth } from '../support/health-client.js';
import { call, callError, enqueueRequest, type RunningJack } from '../support/jack.js';
import type { RecordingBackend } from '../support/recording-backend.js';

/** A job of this producer and type with an empty JSON payload. */
const job = (producerId: string, jobType: string) =>
  enqueueRequest({ producerId, jobType, payload: Buffer.from('{}') });

describe('gcs store shared by two replicas', () => {
  let gcs: FakeGcs;
  let a: RunningJack;
  let b: RunningJack;
  let bBackend: RecordingBackend;
  let replicas: GcsReplicas | undefined;

  beforeAll(async () => {
    replicas = await startGcsReplicas({ GCS_PREFIX: 'jack', HEALTH_CHECK_INTERVAL: '200ms' });
    ({ gcs, a, b, bBackend } = replicas);
  });
  afterAll(() => replicas?.close());

  it('a producer and job type created on replica A are accepted by replica B within a refresh', async () => {
    const { producer } = await call(a.admin, 'createProducer', {
      name: 'billing',
      description: '',
    });
    const producerId = producer?.producerId ?? '';
    await call(a.admin, 'createJobType', {
      producerId,
      name: 'invoice',
      queue: Queue.QUEUE_HIGH,
      maxRetries: 6,
      description: '',
    });
    // GCS_PREFIX 'jack' is normalised to the folder 'jack/'.
    expect(gcs.getObject(REPLICAS_BUCKET, 'jack/producers.json')?.text).toContain(producerId);

    await eventually('replica B accepts the producer without warnings', async () => {
      const res = await call(b.jobs, 'enqueue', job(producerId, 'invoice'));
      return res.errorMessages.length === 0;
    });
    expect(bBackend.last()).toMatchObject({ priority: 'high' });
    expect(bBackend.last().attributes.max_retries).toBe('6');
    const listed = await call(b.admin, 'listProducers', { pageSize: 0, pageToken: '' });
    expect(listed.producers.map((p) => p.producerId)).toContain(producerId);
  });

  it('during a store outage writes fail UNAVAILABLE, enqueue routes from the snapshot, health follows', async () => {
    const { producer } = await call(b.admin, 'createProducer', { name: 'search', description: '' });
    const producerId = producer?.producerId ?? '';
    await call(b.admin, 'createJobType', {
      producerId,
      name: 'reindex',
      queue: Queue.QUEUE_LOW,
      maxRetries: 2,
      description: '',
    });
    await waitForHealth(b.address, 'SERVING', 'jack.AdminService');

    gcs.failAll(503);
    try {
      const write = await callError(
        call(b.admin, 'createProducer', { name: 'during-outage', description: '' }),
      );
      expect(write.code).toBe(status.UNAVAILABLE);
      const jobTypeWrite = await callError(
        call(b.admin, 'createJobType', {
          producerId,
          name: 'other',
          queue: Queue.QUEUE_HIGH,
          maxRetries: 1,
          description: '',
        }),
      );
      expect(jobTypeWrite.code).toBe(status.UNAVAILABLE);

      await waitForHealth(b.address, 'NOT_SERVING', 'jack.AdminService');
      expect(await healthStatus(b.address, 'jack.BackgroundJobs')).toBe('SERVING');
      expect(b.logs.some((l) => l.msg.startsWith('config store refresh failed'))).toBe(true);

      const res = await call(b.jobs, 'enqueue', job(producerId, 'reindex'));
      expect(res.errorMessages).toEqual([]);
      expect(bBackend.last()).toMatchObject({ priority: 'low' });
      expect(bBackend.last().attributes.max_retries).toBe('2');
    } finally {
      gcs.heal();
    }

    await waitForHealth(b.address, 'SERVING', 'jack.AdminService');
    const after = await call(b.admin, 'createProducer', { name: 'after-outage', description: '' });
    expect(after.producer?.producerId).toMatch(/^prod_[0-9a-f]{8}$/);
    await eventually('replica A sees the producer written after the outage', async () => {
      const got = await call(a.admin, 'listProducers', { pageSize: 0, pageToken: '' });
      return got.producers.some((p) => p.producerId === after.producer?.producerId);
    });
  });
});
