/**
 * Runs the ledger store contract against both stores: in process, and a
 * real PostgreSQL (the run's cluster, one database for this file, emptied
 * between tests; two stores = two replicas). Then what only PostgreSQL
 * has: migrations under the advisory lock, a newer schema refused, group
 * commit, and retention by one replica at a time.
 */
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { isJackError } from '../../src/errors.js';
import { JobState } from '../../src/gen/jack/jobs.js';
import { createMemoryLedgerStore } from '../../src/ledger/memory.js';
import { MIGRATIONS } from '../../src/ledger/migrations.js';
import { openPostgresLedgerStore } from '../../src/ledger/postgres.js';
import { acceptedJob, describeLedgerStoreContract } from '../contract/ledger-store.contract.js';
import { createDatabase, postgresAvailable, TEST_POSTGRES_PASSWORD } from '../support/postgres.js';

const logger = pino({ level: 'silent' });

describeLedgerStoreContract('memory', false, async () => ({
  open: async () => createMemoryLedgerStore({ maxJobs: 1000 }),
  dispose: async () => {},
}));

const withPostgres = postgresAvailable();
let database: Promise<string> | undefined;
/** This file's database on the run's cluster, created on first use. */
const databaseUrl = () => {
  database ??= createDatabase(inject('postgresUrl'), 'ledger_store');
  return database;
};

async function sql<R extends pg.QueryResultRow>(url: string, text: string, values?: unknown[]) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!withPostgres)('postgres (real PostgreSQL)', () => {
  const open = async (url?: string) =>
    openPostgresLedgerStore({ url: url ?? (await databaseUrl()), logger, queryTimeoutMs: 5000 });

  describeLedgerStoreContract('postgres', true, async () => {
    const url = await databaseUrl();
    return {
      open: () => open(url),
      dispose: async () => {
        await sql(url, 'TRUNCATE jack_jobs CASCADE');
      },
    };
  });

  describe('migrations', () => {
    it('two stores opening an empty database at once migrate it once', async () => {
      const url = await createDatabase(inject('postgresUrl'), 'ledger_race');
      const stores = await Promise.all([open(url), open(url), open(url)]);
      try {
        const rows = await sql<{ version: number }>(
          url,
          'SELECT version FROM jack_ledger_migrations ORDER BY version',
        );
        expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
        const job = acceptedJob();
        await stores[0]?.recordAccepted([job]);
        expect(await stores[2]?.get(job.jobId)).toBeDefined();
      } finally {
        for (const s of stores) await s.close();
      }
    });

    it('refuses a database whose schema is newer than the code, with a one-line reason', async () => {
      const url = await createDatabase(inject('postgresUrl'), 'ledger_newer');
      const newer = await openPostgresLedgerStore({
        url,
        logger,
        migrations: [
          ...MIGRATIONS,
          { version: MIGRATIONS.length + 1, name: 'future', sql: 'SELECT 1' },
        ],
      });
      await newer.close();
      const err = await open(url).catch((e: unknown) => e);
      expect(isJackError(err, 'failed_precondition')).toBe(true);
      const message = (err as Error).message;
      expect(message).toMatch(
        new RegExp(
          `has schema version ${MIGRATIONS.length + 1}, newer than this Jack knows \\(${MIGRATIONS.length}\\)`,
        ),
      );
      expect(message).not.toContain('\n');
      expect(message).not.toContain(TEST_POSTGRES_PASSWORD);
    });

    it('stops with a one-line reason, without the password, when PostgreSQL cannot be reached', async () => {
      const url = `postgres://postgres:${TEST_POSTGRES_PASSWORD}@127.0.0.1:1/nowhere`;
      const err = await open(url).catch((e: unknown) => e);
      expect(isJackError(err, 'unavailable')).toBe(true);
      expect((err as Error).message).toMatch(
        /^LEDGER_DATABASE_URL: cannot connect to PostgreSQL at 127\.0\.0\.1:1\/nowhere/,
      );
      expect((err as Error).message).not.toContain(TEST_POSTGRES_PASSWORD);
    });
  });

  it('writes the jobs of concurrent calls in one statement (group commit)', async () => {
    const url = await databaseUrl();
    const store = await open(url);
    try {
      const before = await sql<{ n: string }>(
        url,
        'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()',
      );
      const jobs = Array.from({ length: 50 }, () => acceptedJob());
      await Promise.all(jobs.map((job) => store.recordAccepted([job])));
      const after = await sql<{ n: string }>(
        url,
        'SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()',
      );
      const found = await sql<{ n: string }>(
        url,
        'SELECT count(*)::text AS n FROM jack_jobs WHERE job_id = ANY($1)',
        [jobs.map((j) => j.jobId)],
      );
      expect(Number(found[0]?.n)).toBe(50);
      // 50 calls, at most a few statements (plus this test's own reads).
      expect(Number(after[0]?.n) - Number(before[0]?.n)).toBeLessThan(10);
    } finally {
      await store.close();
    }
  });

  it('serves the newest-first listing from its index', async () => {
    const url = await databaseUrl();
    await (await open(url)).close(); // migrated
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    let plan: { 'QUERY PLAN': string }[];
    try {
      // An empty table would be read whole anyway: ask for the plan a large one gets.
      await client.query('SET enable_seqscan = off; SET enable_bitmapscan = off');
      plan = (
        await client.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT job_id FROM jack_jobs WHERE (created_at, job_id) < (now(), 'x')
           ORDER BY created_at DESC, job_id DESC LIMIT 51`,
        )
      ).rows;
    } finally {
      await client.end();
    }
    const text = plan.map((r) => r['QUERY PLAN']).join('\n');
    expect(text).toContain('jack_jobs_newest');
    expect(text).not.toContain('Sort');
  });

  it('lets one replica at a time delete expired records', async () => {
    const url = await databaseUrl();
    const [a, b] = [await open(url), await open(url)];
    try {
      const old = Array.from({ length: 20 }, () => acceptedJob({ createdAt: new Date(1000) }));
      await a.recordAccepted(old);
      const cutoff = new Date(2000);
      const counts = await Promise.all([a.deleteExpired(cutoff, 20), b.deleteExpired(cutoff, 20)]);
      // Whoever took the lock deleted everything; the other skipped the round.
      expect(counts.sort()).toEqual([0, 20]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a connection cut in the middle of a report answers UNAVAILABLE and does not crash Jack', async () => {
    const url = await databaseUrl();
    const store = await open(url);
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      const job = acceptedJob();
      await store.recordAccepted([job]);
      // Another session holds the row, so the report waits inside its transaction.
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM jack_jobs WHERE job_id = $1 FOR UPDATE', [job.jobId]);
      const report = store.report(
        {
          jobId: job.jobId,
          producerId: job.producerId,
          jobType: job.jobType,
          queue: job.queue,
          state: JobState.JOB_STATE_RUNNING,
          attempt: 1,
          error: '',
          worker: 'w',
        },
        new Date(),
      );
      const waiting = async () =>
        (
          await locker.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
          )
        ).rows;
      let pids = await waiting();
      for (let i = 0; pids.length === 0 && i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50));
        pids = await waiting();
      }
      expect(pids).toHaveLength(1);
      await locker.query('SELECT pg_terminate_backend($1)', [pids[0]?.pid]);
      const err = await report.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isJackError(err) && err.code).toBe('unavailable');
      await locker.query('ROLLBACK');
      // The pool replaced the lost connection: the store still answers.
      expect((await store.get(job.jobId))?.jobId).toBe(job.jobId);
    } finally {
      await locker.end();
      await store.close();
    }
  });
});
