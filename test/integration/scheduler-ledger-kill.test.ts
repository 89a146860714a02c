/**
 * SCHEDULER=ledger when a replica dies (SPEC §16): at least once, under the
 * same job id.
 * - A built Jack in a child process and one in process share a database and
 *   the Pub/Sub emulator's topics; the child is SIGKILLed while due jobs are
 *   being published. Every job still lands on the topic, under its job id.
 * - The window itself, made certain: a store publishes a batch and loses its
 *   connection before the commit; another store publishes the same jobs
 *   again, with the same job ids and messages.
 */
import { credentials } from '@grpc/grpc-js';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BackgroundJobsClient } from '../../src/gen/jack/jack.js';
import { Queue } from '../../src/gen/jack/storage.js';
import { JobState } from '../../src/ledger/ledger.js';
import { openPostgresLedgerStore } from '../../src/ledger/postgres.js';
import { openPostgresScheduleStore } from '../../src/scheduler/ledger-postgres.js';
import type { DueJob } from '../../src/scheduler/ledger-store.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { call, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createDatabase, postgresAvailable } from '../support/postgres.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';
import { type SpawnedJack, spawnJack } from '../support/spawn.js';

const logger = pino({ level: 'silent' });
const withPostgres = postgresAvailable();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

let child: SpawnedJack | undefined;
let inProcess: RunningJack | undefined;
let pubsub: PubSubFixture | undefined;
afterAll(async () => {
  await child?.kill();
  await inProcess?.close();
  await pubsub?.close();
});

async function sql<R extends pg.QueryResultRow>(url: string, text: string, values?: unknown[]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!withPostgres || skipWithoutEmulator())(
  'SCHEDULER=ledger: a replica killed mid-run',
  () => {
    it('every job is still published at least once, under its job id', async () => {
      const url = await createDatabase(inject('postgresUrl'), 'scheduler_kill');
      pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities: ['medium'] });
      const env = {
        ...pubsub.env(['medium']),
        SCHEDULER: 'ledger',
        LEDGER_DATABASE_URL: url,
        SCHEDULE_THRESHOLD: '100ms',
        LOG_LEVEL: 'info',
      };
      child = spawnJack({ env: { ...env, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0' } });
      const listening = await child.waitForLog(
        (l) => String(l.msg).startsWith('jack listening'),
        30_000,
      );
      const childAddress = String(listening.msg).replace(/^jack listening on /, '');
      inProcess = await startJack({ ...env, LOG_LEVEL: 'warn' });
      const childJobs = new BackgroundJobsClient(childAddress, credentials.createInsecure());
      try {
        const total = 1000;
        const start = Date.now() + 3_000;
        const spreadMs = 3_000;
        const ids: string[] = [];
        for (const [i, client] of [
          childJobs,
          inProcess.jobs,
          childJobs,
          inProcess.jobs,
        ].entries()) {
          const jobs = Array.from({ length: total / 4 }, (_, k) =>
            enqueueRequest({
              producerId: 'prod-kill',
              jobType: 'send_invoice',
              payload: Buffer.from(`{"n":${i * 1000 + k}}`),
              runAt: new Date(start + ((i * 250 + k) % total) * (spreadMs / total)),
            }),
          );
          const res = await call(client, 'enqueueBulk', { jobs }, {}, 30_000);
          for (const r of res.results) {
            expect(r.error).toBe('');
            ids.push(r.jobId);
          }
        }
        // Half-way through the due window: the child is publishing.
        await sleep(start + spreadMs / 2 - Date.now());
        const killed = await child.kill();
        expect(killed.signal).toBe('SIGKILL');

        // A job republished after the kill arrives twice, so `total` messages
        // need not cover every job: pull on until each id was seen (bounded).
        const received = await pubsub.pull('medium', total, 30_000);
        const byId = new Map<string, number>();
        const count = (messages: typeof received) => {
          for (const m of messages) {
            expect(m.attributes.job_id).toBeDefined();
            byId.set(
              m.attributes.job_id as string,
              (byId.get(m.attributes.job_id as string) ?? 0) + 1,
            );
          }
        };
        count(received);
        const deadline = Date.now() + 20_000;
        let missing = ids.filter((id) => !byId.has(id));
        while (missing.length > 0 && Date.now() < deadline) {
          const more = await pubsub.pull('medium', 1, deadline - Date.now()).catch(() => []);
          received.push(...more);
          count(more);
          missing = ids.filter((id) => !byId.has(id));
        }
        expect(missing).toEqual([]);
        const duplicates = [...byId.values()].filter((n) => n > 1).length;
        process.stdout.write(
          `replica killed mid-run: ${ids.length} jobs, ${received.length} messages, ${duplicates} published twice (same job id)\n`,
        );
        const left = await sql<{ n: number }>(
          url,
          'SELECT count(*)::int AS n FROM jack_scheduled_messages',
        );
        expect(left[0]?.n).toBe(0);
      } finally {
        childJobs.close();
      }
    }, 90_000);
  },
);

describe.skipIf(!withPostgres)(
  'SCHEDULER=ledger: a replica dies between publish and commit',
  () => {
    it('leaves the jobs to be published again, under the same job ids and messages', async () => {
      const url = await createDatabase(inject('postgresUrl'), 'scheduler_commit');
      const ledger = await openPostgresLedgerStore({ url, logger });
      const open = () =>
        openPostgresScheduleStore({ url, logger, soonMs: 1_000, publishBudgetMs: 5_000 });
      const [dying, survivor] = [open(), open()];
      try {
        const runAt = new Date(Date.now() - 1_000);
        const jobIds = ['job-commit-1', 'job-commit-2', 'job-commit-3'];
        for (const jobId of jobIds) {
          await survivor.add({
            message: {
              jobId,
              priority: 'medium',
              data: Buffer.from(`payload ${jobId}`),
              attributes: { job_id: jobId, priority: 'medium' },
            },
            runAt,
            record: {
              jobId,
              producerId: 'prod-commit',
              jobType: 't',
              queue: Queue.QUEUE_MEDIUM,
              state: JobState.JOB_STATE_SCHEDULED,
              createdAt: new Date(),
              runAt,
              maxRetries: 3,
              traceId: '',
              correlationId: '',
              shadow: false,
              messageId: '',
              payloadBytes: 10,
            },
          });
        }
        const firstRound: DueJob[] = [];
        // The replica "dies" after publishing: its connection is cut before the commit.
        const died = await dying
          .fireDue(new Date(), 100, async (jobs) => {
            firstRound.push(...jobs);
            await sql(
              url,
              "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'jack-scheduler' AND state = 'idle in transaction'",
            );
            return jobs.map((_, i) => ({ messageId: `first-${i}` }));
          })
          .then(
            () => undefined,
            (err: unknown) => err,
          );
        expect(died).toMatchObject({ code: 'unavailable' });
        expect(firstRound.map((j) => j.message.jobId).sort()).toEqual(jobIds);

        const secondRound: DueJob[] = [];
        const claimed = await survivor.fireDue(new Date(), 100, async (jobs) => {
          secondRound.push(...jobs);
          return jobs.map((_, i) => ({ messageId: `second-${i}` }));
        });
        expect(claimed).toBe(3);
        expect(
          secondRound.map((j) => j.message).sort((a, b) => (a.jobId < b.jobId ? -1 : 1)),
        ).toEqual(firstRound.map((j) => j.message).sort((a, b) => (a.jobId < b.jobId ? -1 : 1)));
        for (const jobId of jobIds) {
          expect((await ledger.get(jobId))?.state).toBe(JobState.JOB_STATE_QUEUED);
        }
        expect(await survivor.waiting()).toBe(0);
      } finally {
        await Promise.all([dying.close(), survivor.close(), ledger.close()]);
      }
    });
  },
);
