/**
 * Graceful shutdown of the built service, as an operator sees it: a real
 * process, real signals, exit codes.
 *
 * To hold calls in flight without timing, the test swaps the store files for
 * named pipes (FIFOs): a CreateProducer / CreateJobType then finds the file
 * changed, re-reads it, and blocks in that read until the test writes into
 * the pipe. The service logs (at debug) when it starts that re-read.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdminServiceClient } from '../../src/gen/jack/admin.js';
import { BackgroundJobsClient } from '../../src/gen/jack/jack.js';
import { Queue } from '../../src/gen/jack/storage.js';
import { createHealthClient } from '../support/health-client.js';
import { call, callError } from '../support/jack.js';
import { freePort } from '../support/pubsub-emulator.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';

function mkfifo(path: string): void {
  const result = spawnSync('mkfifo', [path], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`mkfifo ${path} failed: ${result.stderr}`);
}

/** The debug line the store writes when a conditional write lost and it re-reads `object`. */
const rereading = (object: string) => (line: { msg: string; object?: unknown }) =>
  line.msg.startsWith('config store write conflict') && line.object === object;

describe('shutdown of the built service (SIGTERM)', () => {
  let dir: string;
  let jack: (SpawnedJack & { address: string }) | undefined;
  let admin: AdminServiceClient | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-shutdown-'));
  });
  afterEach(async () => {
    admin?.close();
    admin = undefined;
    await jack?.kill();
    jack = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const start = async () => {
    jack = await startBuiltJack({
      CONFIG_DIR: dir,
      GRPC_PORT: String(await freePort()),
      LOG_LEVEL: 'debug',
      // Far longer than the test timeout: shutdown must not wait for it.
      SHUTDOWN_GRACE_PERIOD: '1h',
      // No periodic re-read may touch the pipes.
      CONFIG_REFRESH_INTERVAL: '1h',
    });
    admin = new AdminServiceClient(jack.address, credentials.createInsecure());
    return { jack, admin };
  };

  it('lets calls in flight finish OK, ends health watches, and exits 0', async () => {
    const { jack, admin } = await start();
    const health = createHealthClient(jack.address);
    try {
      const owner = await call(admin, 'createProducer', { name: 'owner', description: '' });
      const ownerId = owner.producer?.producerId ?? '';
      const producersFile = join(dir, 'producers.json');
      const jobTypesFile = join(dir, 'job_types.json');
      const producersText = await readFile(producersFile, 'utf8');
      await unlink(producersFile);
      mkfifo(producersFile);
      mkfifo(jobTypesFile);

      const watch = health.watch('');
      await watch.until('SERVING');

      const producerCall = call(admin, 'createProducer', { name: 'in-flight', description: '' });
      const jobTypeCall = call(admin, 'createJobType', {
        producerId: ownerId,
        name: 'in-flight-type',
        queue: Queue.QUEUE_HIGH,
        maxRetries: 0,
        description: '',
      });
      // Both calls are now inside the service, blocked in their re-read.
      await jack.waitForLog(rereading('producers.json'));
      await jack.waitForLog(rereading('job_types.json'));

      jack.signal('SIGTERM');
      await jack.waitForLog((l) => l.msg === 'shutting down');
      await watch.until('NOT_SERVING');

      // New calls are refused once shutdown has begun.
      const late = new BackgroundJobsClient(jack.address, credentials.createInsecure());
      try {
        const refused = await callError(
          call(late, 'enqueue', {
            producerId: ownerId,
            jobType: 'late',
            payload: Buffer.alloc(0),
            runAt: undefined,
            traceId: '',
            correlationId: '',
            idempotencyKey: '',
          }),
        );
        expect(refused.code).toBe(status.UNAVAILABLE);
      } finally {
        late.close();
      }

      // Unblock the reads: the calls in flight complete with OK.
      await writeFile(producersFile, producersText);
      await writeFile(jobTypesFile, '{}');
      const [producer, jobType] = await Promise.all([producerCall, jobTypeCall]);
      expect(producer.producer?.name).toBe('in-flight');
      expect(jobType.jobType).toMatchObject({ name: 'in-flight-type', maxRetries: 3 });

      // The Watch stream does not hold shutdown for the (1h) grace period.
      expect(await jack.exited).toEqual({ code: 0, signal: null });
      expect(jack.logs.some((l) => l.msg === 'shutdown complete')).toBe(true);
      // Ended cleanly with OK after NOT_SERVING, not cut with the connection.
      expect(await watch.ended).toBeUndefined();
      expect(watch.statuses).toEqual(['SERVING', 'NOT_SERVING']);

      // What was answered OK is on disk, in regular files (the pipes were replaced).
      expect((await stat(producersFile)).isFile()).toBe(true);
      const producers = JSON.parse(await readFile(producersFile, 'utf8')) as {
        producers: Array<{ name: string }>;
      };
      expect(producers.producers.map((p) => p.name)).toEqual(['owner', 'in-flight']);
      const jobTypes = JSON.parse(await readFile(jobTypesFile, 'utf8')) as {
        jobTypes: Array<{ name: string }>;
      };
      expect(jobTypes.jobTypes.map((t) => t.name)).toEqual(['in-flight-type']);
    } finally {
      health.close();
    }
  });

  it('is killed at once by a second SIGTERM while a call is stuck in the store', async () => {
    const { jack, admin } = await start();
    const producersFile = join(dir, 'producers.json');
    mkfifo(producersFile);
    const stuck = call(admin, 'createProducer', { name: 'stuck', description: '' }).then(
      () => 'answered',
      () => 'failed',
    );
    await jack.waitForLog(rereading('producers.json'));

    jack.signal('SIGTERM');
    await jack.waitForLog((l) => l.msg === 'shutting down');
    jack.signal('SIGTERM');

    // The pipe keeps a thread of the service blocked in open(): a plain
    // process.exit() would wait for it forever, SIGKILL does not.
    expect(await jack.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(jack.logs.some((l) => l.msg === 'second signal: exiting now')).toBe(true);
    expect(jack.logs.some((l) => l.msg === 'shutdown complete')).toBe(false);
    // The caller never got an OK for a record that was not written.
    expect(await stuck).toBe('failed');
  });
});
