/**
 * Issue 25: nats-server killed (SIGKILL) and restarted on the same port and
 * store dir while Jack takes Enqueue calls. Nothing acknowledged is lost,
 * nothing is stored twice, calls during the outage fail UNAVAILABLE within
 * the publish timeout, and health goes NOT_SERVING, then SERVING again.
 */
import { type ServiceError, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForHealth } from '../support/health-client.js';
import { call, type RunningJack, startJack } from '../support/jack.js';
import { type NatsServer, natsAvailable, startNatsServer } from '../support/nats.js';
import { createNatsStream, type NatsStreamFixture } from '../support/nats-stream.js';

const PUBLISH_TIMEOUT_MS = 1_000;
/** Slack for timers and a loaded machine on top of the publish timeout. */
const SLACK_MS = 2_500;
const CONCURRENCY = 8;

describe.skipIf(!natsAvailable())('NATS backend: server restart during load', () => {
  let nats: NatsServer | undefined;
  let stream: NatsStreamFixture | undefined;
  let jack: RunningJack | undefined;
  afterEach(async () => {
    await jack?.close();
    await stream?.close();
    await nats?.stop();
  });

  it('loses no acknowledged job, stores none twice, and reports the outage', async () => {
    nats = await startNatsServer();
    stream = await createNatsStream(nats.url);
    jack = await startJack({
      ...stream.env({ NATS_PUBLISH_TIMEOUT: `${PUBLISH_TIMEOUT_MS}ms` }),
      HEALTH_CHECK_INTERVAL: '200ms',
      LOG_LEVEL: 'warn',
    });
    const running = jack;
    await waitForHealth(running.address, 'SERVING');

    const acknowledged: string[] = [];
    const failures: { code: number | undefined; ms: number }[] = [];
    let loading = true;
    const worker = async (n: number) => {
      for (let i = 0; loading; i += 1) {
        const started = performance.now();
        try {
          const res = await call(running.jobs, 'enqueue', {
            producerId: 'prod_outage',
            jobType: `load.${n}`,
            payload: Buffer.from(`{"n":${n},"i":${i}}`),
            runAt: undefined,
            traceId: '',
            correlationId: '',
            idempotencyKey: '',
          });
          acknowledged.push(res.jobId);
        } catch (err) {
          failures.push({ code: (err as ServiceError).code, ms: performance.now() - started });
          // An UNAVAILABLE during the outage comes back at once: do not spin.
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const load = Promise.all(Array.from({ length: CONCURRENCY }, (_, n) => worker(n)));

    const waitFor = async (what: () => boolean, label: string) => {
      const deadline = Date.now() + 15_000;
      while (!what()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await waitFor(() => acknowledged.length >= 50, 'load before the outage');
    await nats.kill();
    await waitForHealth(running.address, 'NOT_SERVING', '', 10_000);
    await waitFor(() => failures.length >= 5, 'calls during the outage');
    const beforeRestart = acknowledged.length;
    await nats.restart();
    await waitForHealth(running.address, 'SERVING', '', 15_000);
    await waitFor(() => acknowledged.length >= beforeRestart + 50, 'load after the restart');
    loading = false;
    await load;

    expect(failures.length).toBeGreaterThanOrEqual(5);
    for (const failure of failures) {
      expect(failure.code).toBe(status.UNAVAILABLE);
      expect(failure.ms).toBeLessThan(PUBLISH_TIMEOUT_MS + SLACK_MS);
    }
    const stored = (await stream.stored()).map((m) => m.headers.job_id ?? '');
    const storedIds = new Set(stored);
    expect(storedIds.size).toBe(stored.length); // none stored twice
    const lost = acknowledged.filter((id) => !storedIds.has(id));
    expect(lost).toEqual([]); // nothing acknowledged is lost
    expect(new Set(acknowledged).size).toBe(acknowledged.length);
  });
});
