/**
 * The ledger when PostgreSQL goes away (SPEC §14): a cluster of this file's
 * own, stopped by PID under a running recorder and started again on the
 * same port. Every `record` call still returns in bounded time, the
 * recorder reports unhealthy, what waited is written once PostgreSQL is
 * back (oldest dropped beyond the buffer, and counted), nothing written
 * earlier is changed, and change notifications resume on every store.
 */
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import { type AcceptedJob, JobState, type LedgerStore } from '../../src/ledger/ledger.js';
import { openPostgresLedgerStore } from '../../src/ledger/postgres.js';
import { createLedgerRecorder } from '../../src/ledger/recorder.js';
import { type Metrics, noopMetrics } from '../../src/metrics.js';
import { acceptedJob } from '../contract/ledger-store.contract.js';
import {
  createDatabase,
  type PostgresCluster,
  postgresAvailable,
  startPostgres,
} from '../support/postgres.js';

const logger = pino({ level: 'silent' });
const withPostgres = postgresAvailable();
let cluster: PostgresCluster | undefined;

afterAll(async () => {
  await cluster?.destroy();
});

async function eventually(condition: () => boolean | Promise<boolean>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!withPostgres)('ledger with PostgreSQL stopped and started again', () => {
  it('never holds or fails a call, buffers, recovers, writes each record once, and resumes notifications', async () => {
    cluster = await startPostgres();
    const url = await createDatabase(cluster.url, 'ledger_outage');
    const open = () => openPostgresLedgerStore({ url, logger, queryTimeoutMs: 1000 });
    const stores: LedgerStore[] = [await open(), await open()];
    const [writer, watcher] = stores as [LedgerStore, LedgerStore];
    const counts = { failed: 0, dropped: 0 };
    const metrics: Metrics = {
      ...noopMetrics,
      ledgerWriteFailed: (n) => {
        counts.failed += n;
      },
      ledgerRecordsDropped: (n) => {
        counts.dropped += n;
      },
    };
    const recorder = createLedgerRecorder({
      store: writer,
      logger,
      metrics,
      writeTimeoutMs: 300,
      bufferSize: 20,
      retryMinMs: 50,
      retryMaxMs: 300,
    });
    try {
      // Before: written at once, then a worker's report moves it on.
      const before = acceptedJob();
      await recorder.record([before]);
      expect(recorder.healthy).toBe(true);
      await writer.report(
        {
          jobId: before.jobId,
          producerId: before.producerId,
          jobType: before.jobType,
          queue: Queue.QUEUE_HIGH,
          state: JobState.JOB_STATE_RUNNING,
          attempt: 1,
          error: '',
          worker: 'w',
        },
        new Date(),
      );

      await cluster.stop();
      // 25 calls during the outage: each returns, none fails; 5 are beyond the buffer.
      const during: AcceptedJob[] = Array.from({ length: 25 }, () => acceptedJob());
      for (const job of during) {
        const started = Date.now();
        await recorder.record([job]);
        expect(Date.now() - started).toBeLessThan(3000);
      }
      expect(recorder.healthy).toBe(false);
      expect(recorder.buffered).toBe(20);
      expect(recorder.dropped).toBe(5);
      expect(counts.dropped).toBe(5);
      expect(counts.failed).toBeGreaterThanOrEqual(1);
      await expect(writer.get(before.jobId)).rejects.toMatchObject({ code: 'unavailable' });

      await cluster.restart();
      await eventually(() => recorder.healthy, 20_000, 'the recorder to write what waited');
      expect(recorder.buffered).toBe(0);

      for (const job of during.slice(0, 5)) expect(await writer.get(job.jobId)).toBeUndefined();
      for (const job of during.slice(5)) {
        // Exactly as first recorded: written once, never changed by a retry.
        expect(await writer.get(job.jobId)).toMatchObject({
          state: JobState.JOB_STATE_QUEUED,
          createdAt: job.createdAt,
          updatedAt: job.createdAt,
          messageId: job.messageId,
        });
      }
      // The record written before the outage kept its report.
      expect(await writer.get(before.jobId)).toMatchObject({ state: JobState.JOB_STATE_RUNNING });

      // Notifications resume on the other store (re-LISTEN after the reconnect).
      const heard: string[] = [];
      const stop = watcher.onChange((id) => heard.push(id));
      const after = acceptedJob();
      await eventually(
        async () => {
          await writer.recordAccepted([{ ...after }]).catch(() => {});
          await writer.cancel(after.jobId, new Date()).catch(() => undefined);
          return heard.includes(after.jobId);
        },
        15_000,
        'a change notification after the restart',
      );
      stop();
    } finally {
      await recorder.close();
      for (const store of stores) await store.close();
    }
  });
});
