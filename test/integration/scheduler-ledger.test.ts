/**
 * SCHEDULER=ledger on a real PostgreSQL (SPEC §16): Jack replicas in
 * process sharing one database (this file's, on the run's cluster), each
 * publishing through a recording backend that notes when every message
 * landed — the backend is not the point here (the child-process test in
 * scheduler-ledger-kill.test.ts uses the Pub/Sub emulator).
 */
import { status } from '@grpc/grpc-js';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { JobState } from '../../src/ledger/ledger.js';
import type { OutboundMessage } from '../../src/queue/backend.js';
import { eventually } from '../support/eventually.js';
import { createHealthClient } from '../support/health-client.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createDatabase, postgresAvailable, startPostgres } from '../support/postgres.js';
import { createRecordingBackend, type RecordingBackend } from '../support/recording-backend.js';

const withPostgres = postgresAvailable();
/** A database of its own per test: a failed test's replicas and jobs never reach the next. */
const databaseUrl = () => createDatabase(inject('postgresUrl'), 'scheduler_ledger');

const running: RunningJack[] = [];
afterAll(async () => {
  await Promise.all(running.map((j) => j.close()));
});

/** A backend shared by replicas that notes when each message was published. */
function timedBackend(): RecordingBackend & { at: Map<string, number[]> } {
  const inner = createRecordingBackend();
  const at = new Map<string, number[]>();
  const publish = inner.publish.bind(inner);
  return Object.assign(inner, {
    at,
    async publish(message: OutboundMessage) {
      const id = await publish(message);
      const times = at.get(message.jobId) ?? [];
      times.push(Date.now());
      at.set(message.jobId, times);
      return id;
    },
  });
}

async function replica(url: string, backend: RecordingBackend, env: Record<string, string> = {}) {
  const jack = await startJack(
    {
      SCHEDULER: 'ledger',
      LEDGER_DATABASE_URL: url,
      SCHEDULE_THRESHOLD: '100ms',
      LOG_LEVEL: 'warn',
      ...env,
    },
    { backend },
  );
  running.push(jack);
  return jack;
}

async function sql<R extends pg.QueryResultRow>(url: string, text: string, values?: unknown[]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const stateOf = async (url: string, jobId: string) =>
  (await sql<{ state: number }>(url, 'SELECT state FROM jack_jobs WHERE job_id = $1', [jobId]))[0]
    ?.state;

const future = (producerId: string, runAt: Date, fields = {}) =>
  enqueueRequest({
    producerId,
    jobType: 'send_invoice',
    payload: Buffer.from(`{"invoice":${Math.floor(Math.random() * 1e9)}}`),
    runAt,
    ...fields,
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

describe.skipIf(!withPostgres)('SCHEDULER=ledger on PostgreSQL', () => {
  it('5000 jobs due at 1000/s (6–11 s ahead) on two replicas: each published exactly once, on time', async () => {
    const url = await databaseUrl();
    const backend = timedBackend();
    const [a, b] = [await replica(url, backend), await replica(url, backend)] as const;
    const total = 5000;
    const start = Date.now() + 6_000;
    const spreadMs = 5_000; // 1000 due jobs per second, the rate SPEC §16 promises
    const bulkSize = 500;
    const accepted: string[] = [];
    const calls: Promise<void>[] = [];
    for (let i = 0; i < total; i += bulkSize) {
      const jack = (i / bulkSize) % 2 === 0 ? a : b;
      const jobs = Array.from({ length: bulkSize }, (_, k) =>
        future('prod-burst', new Date(start + (((i + k) * 7919) % total) * (spreadMs / total))),
      );
      calls.push(
        call(jack.jobs, 'enqueueBulk', { jobs }, {}, 60_000).then((res) => {
          for (const r of res.results) {
            expect(r.error).toBe('');
            accepted.push(r.jobId);
          }
        }),
      );
    }
    await Promise.all(calls);
    const scheduledBy = Date.now();
    expect(accepted).toHaveLength(total);

    await eventually('every job published', async () => backend.at.size >= total, 40_000);
    await sleep(1_500); // a duplicate would show up now
    const lateness: number[] = [];
    for (const jobId of accepted) {
      const times = backend.at.get(jobId) ?? [];
      expect(times, jobId).toHaveLength(1);
    }
    for (const message of backend.published) {
      lateness.push(
        (backend.at.get(message.jobId)?.[0] ?? 0) - Date.parse(message.attributes.run_at as string),
      );
    }
    lateness.sort((x, y) => x - y);
    const report = {
      jobs: total,
      replicas: 2,
      scheduledInMs: scheduledBy - (start - 6_000),
      latenessMs: {
        p50: percentile(lateness, 50),
        p99: percentile(lateness, 99),
        max: lateness.at(-1),
        min: lateness[0],
      },
    };
    process.stdout.write(`ledger scheduler lateness: ${JSON.stringify(report)}\n`);
    // Never before its time, and on time (SPEC §16: 1 s at p99).
    expect(lateness[0]).toBeGreaterThanOrEqual(0);
    expect(report.latenessMs.p99).toBeLessThanOrEqual(1_000);
    // Every record QUEUED, no message left behind.
    const left = await sql<{ n: number }>(
      url,
      'SELECT count(*)::int AS n FROM jack_scheduled_messages',
    );
    expect(left[0]?.n).toBe(0);
    const queued = await sql<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM jack_jobs WHERE producer_id = 'prod-burst' AND state = $1 AND message_id <> ''",
      [JobState.JOB_STATE_QUEUED],
    );
    expect(queued[0]?.n).toBe(total);
    await Promise.all([a.close(), b.close()]);
  }, 90_000);

  it("accepts a job 60 days ahead and a payload beyond Cloud Tasks' limit, keeping the whole message until then", async () => {
    const url = await databaseUrl();
    const backend = timedBackend();
    const jack = await replica(url, backend);
    const runAt = new Date(Date.now() + 60 * 86_400_000);
    const { jobId } = await call(jack.jobs, 'enqueue', future('prod-far', runAt));
    expect(await stateOf(url, jobId)).toBe(JobState.JOB_STATE_SCHEDULED);
    const [row] = await sql<{
      run_at: Date;
      priority: string;
      attributes: Record<string, string>;
      data: Buffer;
    }>(
      url,
      'SELECT run_at, priority, data, attributes FROM jack_scheduled_messages WHERE job_id = $1',
      [jobId],
    );
    expect(row?.run_at.getTime()).toBe(runAt.getTime());
    expect(row?.attributes).toMatchObject({
      job_id: jobId,
      producer_id: 'prod-far',
      run_at: runAt.toISOString(),
    });
    expect(row?.data.toString()).toMatch(/^\{"invoice":\d+\}$/);
    expect(backend.published).toHaveLength(0);

    // No Cloud Tasks size limit: MAX_PAYLOAD_BYTES (1 MiB by default) is the limit.
    const big = Buffer.alloc(1_000_000, 'x');
    const large = await call(
      jack.jobs,
      'enqueue',
      future('prod-far', new Date(Date.now() + 3_600_000), { payload: big }),
    );
    const [stored] = await sql<{ data: Buffer }>(
      url,
      'SELECT data FROM jack_scheduled_messages WHERE job_id = $1',
      [large.jobId],
    );
    expect(stored?.data.equals(big)).toBe(true);
    const tooLarge = await callError(
      call(
        jack.jobs,
        'enqueue',
        future('prod-far', new Date(Date.now() + 3_600_000), {
          payload: Buffer.alloc(1_048_577, 'x'),
        }),
      ),
    );
    expect(tooLarge.code).toBe(status.INVALID_ARGUMENT);
    await jack.close();
  });

  it('CancelJob before the run time: CANCELLED and never published; then NOT_FOUND', async () => {
    const url = await databaseUrl();
    const backend = timedBackend();
    const jack = await replica(url, backend);
    const { jobId } = await call(
      jack.jobs,
      'enqueue',
      future('prod-cancel', new Date(Date.now() + 1_000)),
    );
    await call(jack.jobs, 'cancelJob', { producerId: 'prod-cancel', jobId });
    expect(await stateOf(url, jobId)).toBe(JobState.JOB_STATE_CANCELLED);
    const again = await callError(
      call(jack.jobs, 'cancelJob', { producerId: 'prod-cancel', jobId }),
    );
    expect(again.code).toBe(status.NOT_FOUND);
    await sleep(1_800);
    expect(backend.at.has(jobId)).toBe(false);
    await jack.close();
  });

  it('CancelJob racing the publish: CANCELLED and never published, or NOT_FOUND and published — never both', async () => {
    const url = await databaseUrl();
    const backend = timedBackend();
    const [a, b] = [await replica(url, backend), await replica(url, backend)] as const;
    const runAt = new Date(Date.now() + 1_500);
    const res = await call(a.jobs, 'enqueueBulk', {
      jobs: Array.from({ length: 200 }, () => future('prod-race', runAt)),
    });
    const ids = res.results.map((r) => r.jobId);
    // Cancels spread from 100 ms before run_at to 100 ms after: both outcomes happen.
    await sleep(runAt.getTime() - Date.now() - 100);
    const outcomes = await Promise.all(
      ids.map((jobId, i) =>
        sleep((i % 20) * 10)
          .then(() =>
            call((i % 2 === 0 ? a : b).jobs, 'cancelJob', { producerId: 'prod-race', jobId }),
          )
          .then(
            () => 'cancelled' as const,
            (err: { code: number }) =>
              err.code === status.NOT_FOUND ? ('not_found' as const) : err,
          ),
      ),
    );
    const states = new Map(
      (
        await sql<{ job_id: string; state: number }>(
          url,
          'SELECT job_id, state FROM jack_jobs WHERE job_id = ANY($1::text[])',
          [ids],
        )
      ).map((r) => [r.job_id, r.state]),
    );
    await sleep(1_000); // a publish after a successful cancel would show up now
    let cancelled = 0;
    for (const [i, jobId] of ids.entries()) {
      const outcome = outcomes[i];
      const published = backend.at.get(jobId)?.length ?? 0;
      if (outcome === 'cancelled') {
        cancelled += 1;
        expect(published, jobId).toBe(0);
        expect(states.get(jobId)).toBe(JobState.JOB_STATE_CANCELLED);
      } else {
        expect(outcome).toBe('not_found');
        expect(published, jobId).toBe(1);
        expect(states.get(jobId)).toBe(JobState.JOB_STATE_QUEUED);
      }
    }
    process.stdout.write(
      `cancel race: ${cancelled} cancelled, ${ids.length - cancelled} published\n`,
    );
    await Promise.all([a.close(), b.close()]);
  });

  it('the same idempotency key twice for a future job: one scheduled job', async () => {
    const url = await databaseUrl();
    const backend = timedBackend();
    const jack = await replica(url, backend);
    const request = future('prod-idem', new Date(Date.now() + 3_600_000), {
      idempotencyKey: 'invoice-42',
    });
    const first = await call(jack.jobs, 'enqueue', request);
    const second = await call(jack.jobs, 'enqueue', request);
    expect(second).toMatchObject({ jobId: first.jobId, duplicate: true });
    const rows = await sql<{ n: number }>(
      url,
      "SELECT count(*)::int AS n FROM jack_scheduled_messages m JOIN jack_jobs j USING (job_id) WHERE j.producer_id = 'prod-idem'",
    );
    expect(rows[0]?.n).toBe(1);
    await jack.close();
  });

  it('jobs scheduled before a restart are published after it', async () => {
    const url = await databaseUrl();
    const backend = timedBackend();
    const before = await replica(url, backend);
    const runAt = new Date(Date.now() + 1_000);
    const res = await call(before.jobs, 'enqueueBulk', {
      jobs: Array.from({ length: 20 }, () => future('prod-restart', runAt)),
    });
    await before.close();
    await sleep(runAt.getTime() - Date.now() + 300);
    expect(res.results.filter((r) => backend.at.has(r.jobId))).toHaveLength(0);
    const after = await replica(url, backend);
    await eventually(
      'published after the restart',
      async () => res.results.every((r) => backend.at.get(r.jobId)?.length === 1),
      10_000,
    );
    const first = res.results[0]?.jobId ?? '';
    await eventually(
      'GetJob reads QUEUED',
      async () =>
        (await call(after.ledger, 'getJob', { jobId: first })).state === JobState.JOB_STATE_QUEUED,
      5_000,
    );
    await after.close();
  });
});

describe.skipIf(!withPostgres)('SCHEDULER=ledger while PostgreSQL is down', () => {
  it('reports NOT_SERVING meanwhile and publishes the due job once PostgreSQL is back', async () => {
    const cluster = await startPostgres();
    try {
      const url = await createDatabase(cluster.url, 'scheduler_outage');
      const backend = timedBackend();
      const jack = await replica(url, backend, { HEALTH_CHECK_INTERVAL: '200ms' });
      const health = createHealthClient(jack.address);
      try {
        expect(await health.check('jack.BackgroundJobs')).toBe('SERVING');
        const runAt = new Date(Date.now() + 800);
        const { jobId } = await call(jack.jobs, 'enqueue', future('prod-outage', runAt));
        await cluster.stop();
        await sleep(runAt.getTime() - Date.now() + 500);
        expect(backend.at.has(jobId)).toBe(false);
        await eventually(
          'NOT_SERVING while PostgreSQL is down',
          async () => (await health.check('jack.BackgroundJobs')) === 'NOT_SERVING',
          10_000,
        );
        await cluster.restart();
        await eventually(
          'published once PostgreSQL is back',
          async () => backend.at.has(jobId),
          15_000,
        );
        await eventually(
          'SERVING again',
          async () => (await health.check('jack.BackgroundJobs')) === 'SERVING',
          10_000,
        );
        expect(backend.at.get(jobId)).toHaveLength(1);
        expect(await stateOf(url, jobId)).toBe(JobState.JOB_STATE_QUEUED);
      } finally {
        health.close();
        await jack.close();
      }
    } finally {
      await cluster.destroy();
    }
  }, 60_000);
});

describe('SCHEDULER=ledger on the memory ledger (development)', () => {
  it('warns at startup that scheduled jobs are lost at exit, and publishes a future job when due', async () => {
    const backend = timedBackend();
    const jack = await startJack(
      { SCHEDULER: 'ledger', JOB_LEDGER: 'memory', SCHEDULE_THRESHOLD: '100ms', LOG_LEVEL: 'info' },
      { backend },
    );
    running.push(jack);
    expect(
      jack.logs.some((l) => l.level === 'warn' && /scheduled jobs .*LOST at exit/.test(l.msg)),
    ).toBe(true);
    const runAt = new Date(Date.now() + 400);
    const { jobId } = await call(jack.jobs, 'enqueue', future('prod-memory', runAt));
    const kept = await call(
      jack.jobs,
      'enqueue',
      future('prod-memory', new Date(Date.now() + 400)),
    );
    await call(jack.jobs, 'cancelJob', { producerId: 'prod-memory', jobId: kept.jobId });
    expect(backend.at.has(jobId)).toBe(false);
    // GetJob: SCHEDULED until the ledger scheduler publishes it (not read as QUEUED by time).
    expect(await call(jack.ledger, 'getJob', { jobId })).toMatchObject({
      state: JobState.JOB_STATE_SCHEDULED,
      runAt,
    });
    expect((await call(jack.ledger, 'getJob', { jobId: kept.jobId })).state).toBe(
      JobState.JOB_STATE_CANCELLED,
    );
    await eventually('published when due', async () => backend.at.has(jobId), 5_000);
    await eventually(
      'QUEUED once published',
      async () =>
        (await call(jack.ledger, 'getJob', { jobId })).state === JobState.JOB_STATE_QUEUED,
      5_000,
    );
    expect((await call(jack.ledger, 'getJob', { jobId })).messageId).toMatch(/^recorded-/);
    expect(backend.last().attributes.run_at).toBe(runAt.toISOString());
    await sleep(300);
    expect(backend.at.has(kept.jobId)).toBe(false);
    await jack.close();
  });
});
