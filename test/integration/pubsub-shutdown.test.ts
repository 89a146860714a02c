/**
 * Issue 3, shutdown under load: the BUILT service (dist/main.js, its own
 * process, a real SIGTERM) with 8 clients enqueueing continuously. Every job
 * that was answered OK must be on its topic afterwards, and the process must
 * exit 0. `make test` builds first; run alone after `make build`.
 */
import { credentials } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { BackgroundJobsClient } from '../../src/gen/jack/jack.js';
import { PRIORITIES } from '../../src/queue/backend.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { call } from '../support/jack.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';

const CLIENTS = 8;
/** SIGTERM goes out once this many jobs were answered OK. */
const OK_BEFORE_SIGTERM = 300;

describe.skipIf(skipWithoutEmulator())('Pub/Sub backend: shutdown under load', () => {
  let pubsub: PubSubFixture | undefined;
  let jack: SpawnedJack | undefined;
  afterEach(async () => {
    await jack?.kill();
    await pubsub?.close();
  });

  it('SIGTERM while 8 clients enqueue: every job answered OK is on its topic, exit 0', async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost());
    const running = await startBuiltJack({
      ...pubsub.env(),
      // The payload names the priority, so the load spreads over all four topics.
      LEGACY_PAYLOAD_QUEUE_ROUTING: 'true',
      // Partly filled batches wait for their delay: the shutdown must flush them.
      PUBSUB_BATCH_MAX_DELAY_MEDIUM: '100ms',
      PUBSUB_BATCH_MAX_DELAY_LOW: '200ms',
      LOG_LEVEL: 'info',
    });
    jack = running;

    const accepted = new Map<string, (typeof PRIORITIES)[number]>();
    let sigtermSent = false;
    let sigterm: () => void = () => {};
    const sigtermDue = new Promise<void>((resolve) => {
      sigterm = resolve;
    });

    const client = async (index: number) => {
      const priority = PRIORITIES[index % PRIORITIES.length] ?? 'medium';
      const jobs = new BackgroundJobsClient(running.address, credentials.createInsecure());
      try {
        for (let n = 0; ; n += 1) {
          try {
            const res = await call(jobs, 'enqueue', {
              producerId: 'prod_load',
              jobType: 'load',
              payload: Buffer.from(JSON.stringify({ queue: priority, client: index, n })),
              runAt: undefined,
              traceId: '',
              correlationId: '',
              idempotencyKey: '',
            });
            accepted.set(res.jobId, priority);
            if (accepted.size >= OK_BEFORE_SIGTERM) sigterm();
          } catch {
            // Refused or cut off by the shutdown: not answered OK, so not counted.
            if (sigtermSent) return;
            throw new Error(`enqueue failed before SIGTERM (client ${index}, call ${n})`);
          }
        }
      } finally {
        jobs.close();
      }
    };

    const clients = Array.from({ length: CLIENTS }, (_, i) => client(i));
    await sigtermDue;
    sigtermSent = true;
    running.signal('SIGTERM');
    await Promise.all(clients);
    const exit = await running.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(running.logs.some((l) => l.msg === 'shutdown complete')).toBe(true);

    const missing: string[] = [];
    for (const priority of PRIORITIES) {
      const expected = [...accepted].filter(([, p]) => p === priority).map(([id]) => id);
      const received = new Set(
        (await pubsub.pull(priority, expected.length, 60_000)).map((m) => m.attributes.job_id),
      );
      missing.push(...expected.filter((id) => !received.has(id)));
    }
    expect(accepted.size).toBeGreaterThanOrEqual(OK_BEFORE_SIGTERM);
    expect(missing).toEqual([]);
  }, 120_000);
});
