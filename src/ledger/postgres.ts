/**
 * The shared ledger (`JOB_LEDGER=postgres`): one table every replica reads
 * and writes, through node-postgres (`pg`).
 *
 * - Startup migrates the schema (./migrations.ts) under a session advisory
 *   lock, so two replicas starting together migrate once; a database whose
 *   schema is newer than this code is refused with a one-line reason.
 * - `recordAccepted` calls that arrive together are written by one
 *   statement (group commit): calls accumulate while the previous batch is
 *   in flight and go as one INSERT … SELECT FROM unnest(…) ON CONFLICT.
 * - A report or a cancel reads the row FOR UPDATE, applies the pure rules
 *   (./rules.ts) and writes the result in one transaction.
 * - A trigger NOTIFYs every change of a record with the job id (not a new
 *   record: nobody can be watching it yet); each store LISTENs on a
 *   connection of its own (re-LISTENing after a reconnect), so `onChange`
 *   fires on every replica.
 * - The pool is bounded and every query has a timeout, client and server
 *   side. Errors reaching the database become `unavailable` JackErrors with
 *   Jack's own message; the URL's password is never logged.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { JackError } from '../errors.js';
import { type Metrics, noopMetrics } from '../metrics.js';
import type {
  AcceptedJob,
  Job,
  JobReport,
  LedgerStore,
  ListJobsPage,
  ListJobsQuery,
} from './ledger.js';
import { JobState } from './ledger.js';
import {
  CHANGES_CHANNEL,
  JOBS_TABLE,
  MIGRATIONS,
  MIGRATIONS_TABLE,
  type Migration,
  SCHEMA_VERSION,
} from './migrations.js';
import { applyCancel, applyReport, type Outcome, observeTransition } from './rules.js';

export interface PostgresLedgerOptions {
  /** LEDGER_DATABASE_URL: a libpq URL (sslmode, sslrootcert, … honoured). */
  url: string;
  logger: Logger;
  /** Transitions and pickup latency are counted here (default: none). */
  metrics?: Metrics;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Upper bound of every query, ms (default 5000). */
  queryTimeoutMs?: number;
  /** How long startup waits for another replica's migration, ms (default 30000). */
  migrationLockTimeoutMs?: number;
  /** The migrations to apply (tests pass a longer list to stand for newer code). */
  migrations?: readonly Migration[];
}

/** Most rows in one INSERT of the group commit. */
const MAX_BATCH_ROWS = 1000;
/** Group-commit batches in flight at once; calls arriving meanwhile form the next batch. */
const MAX_BATCHES_IN_FLIGHT = 4;
/** The advisory lock key pair of the migrations and of retention ('Jack', n). */
const LOCK_CLASS = 0x4a61636b;
const MIGRATION_LOCK = 1;
const RETENTION_LOCK = 2;
/** Reconnect delays of the LISTEN connection, ms. */
const LISTEN_RETRY_MIN_MS = 100;
const LISTEN_RETRY_MAX_MS = 2_000;
/** After a lost LISTEN connection: how far back changes are announced again, and how many. */
const CATCH_UP_MARGIN_MS = 5_000;
const MAX_CATCH_UP_RECORDS = 10_000;
/** How often a report retries when another replica created the same record under it. */
const MAX_REPORT_RACES = 3;

const COLUMNS = [
  'job_id',
  'producer_id',
  'job_type',
  'queue',
  'state',
  'created_at',
  'run_at',
  'updated_at',
  'attempts',
  'max_retries',
  'last_error',
  'worker',
  'trace_id',
  'correlation_id',
  'shadow',
  'message_id',
  'started_at',
  'finished_at',
  'payload_bytes',
] as const;
const SELECT_COLUMNS = COLUMNS.join(', ');
/** Columns an enqueue fills in on a record created from a report (see rules.applyAccepted). */
const ENQUEUE_FACTS = [
  'created_at',
  'run_at',
  'max_retries',
  'trace_id',
  'correlation_id',
  'shadow',
  'message_id',
  'payload_bytes',
];

interface Row {
  job_id: string;
  producer_id: string;
  job_type: string;
  queue: number;
  state: number;
  created_at: Date;
  run_at: Date | null;
  updated_at: Date;
  attempts: number;
  max_retries: number;
  last_error: string;
  worker: string;
  trace_id: string;
  correlation_id: string;
  shadow: boolean;
  message_id: string;
  started_at: Date | null;
  finished_at: Date | null;
  payload_bytes: number;
}

function jobOfRow(row: Row): Job {
  return {
    jobId: row.job_id,
    producerId: row.producer_id,
    jobType: row.job_type,
    queue: row.queue,
    state: row.state,
    createdAt: row.created_at,
    runAt: row.run_at ?? undefined,
    updatedAt: row.updated_at,
    attempts: row.attempts,
    maxRetries: row.max_retries,
    lastError: row.last_error,
    worker: row.worker,
    traceId: row.trace_id,
    correlationId: row.correlation_id,
    shadow: row.shadow,
    messageId: row.message_id,
    startedAt: row.started_at ?? undefined,
    finishedAt: row.finished_at ?? undefined,
    payloadBytes: row.payload_bytes,
  };
}

/** The values of `job` in COLUMNS order. */
function valuesOf(job: Job): unknown[] {
  return [
    job.jobId,
    job.producerId,
    job.jobType,
    job.queue,
    job.state,
    job.createdAt ?? new Date(0),
    job.runAt ?? null,
    job.updatedAt ?? job.createdAt ?? new Date(0),
    job.attempts,
    job.maxRetries,
    job.lastError,
    job.worker,
    job.traceId,
    job.correlationId,
    job.shadow,
    job.messageId,
    job.startedAt ?? null,
    job.finishedAt ?? null,
    job.payloadBytes,
  ];
}

const PLACEHOLDERS = COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
const INSERT_ONE = `INSERT INTO ${JOBS_TABLE} (${SELECT_COLUMNS}) VALUES (${PLACEHOLDERS})
  ON CONFLICT (job_id) DO NOTHING RETURNING job_id`;
const UPDATE_ONE = `UPDATE ${JOBS_TABLE} SET ${COLUMNS.slice(1)
  .map((c, i) => `${c} = $${i + 2}`)
  .join(', ')} WHERE job_id = $1`;
/** The columns an accepted job sets, and their types; the others keep their defaults. */
const ACCEPTED_COLUMNS = [
  ['job_id', 'text'],
  ['producer_id', 'text'],
  ['job_type', 'text'],
  ['queue', 'smallint'],
  ['state', 'smallint'],
  ['created_at', 'timestamptz'],
  ['run_at', 'timestamptz'],
  ['max_retries', 'integer'],
  ['trace_id', 'text'],
  ['correlation_id', 'text'],
  ['shadow', 'boolean'],
  ['message_id', 'text'],
  ['payload_bytes', 'integer'],
] as const;

/**
 * The group commit's statement: one row per accepted job, a job already
 * recorded left as it is — unless its record was created from a report
 * (max_retries 0), whose enqueue facts it fills in. The jobs come as one
 * JSON array ($1: cheaper to build and to parse than an array per column)
 * and the answer is one row per state with the count of new records (for
 * the transition metrics), not a row per job. A new row has xmax 0; a
 * filled-in one has not.
 */
const INSERT_ACCEPTED = `WITH written AS (
  INSERT INTO ${JOBS_TABLE} AS j (${ACCEPTED_COLUMNS.map(([c]) => c).join(', ')}, updated_at)
  SELECT ${ACCEPTED_COLUMNS.map(([c]) => `r.${c}`).join(', ')}, r.created_at
  FROM json_to_recordset($1::json) AS r(${ACCEPTED_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})
  ON CONFLICT (job_id) DO UPDATE SET ${ENQUEUE_FACTS.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}
  WHERE j.max_retries = 0
  RETURNING j.state, (j.xmax = 0) AS inserted
)
SELECT state, count(*)::integer AS inserted FROM written WHERE inserted GROUP BY state`;

/**
 * `toISOString`, remembered for the last Date: the jobs of a batch mostly
 * share one Date (see dateOf in ./recording.ts), and JSON.stringify calling
 * a Date's toJSON per row cost more than the rest of the row.
 */
let lastDate: Date | undefined;
let lastIso = '';
function isoOf(date: Date): string {
  if (date !== lastDate) {
    lastIso = date.toISOString();
    lastDate = date;
  }
  return lastIso;
}

/** An accepted job as a JSON object of ACCEPTED_COLUMNS. */
function rowOfAccepted(job: AcceptedJob) {
  return {
    job_id: job.jobId,
    producer_id: job.producerId,
    job_type: job.jobType,
    queue: job.queue,
    state: job.state,
    created_at: isoOf(job.createdAt),
    run_at: job.runAt === undefined ? null : job.runAt.toISOString(),
    max_retries: job.maxRetries,
    trace_id: job.traceId,
    correlation_id: job.correlationId,
    shadow: job.shadow,
    message_id: job.messageId,
    payload_bytes: job.payloadBytes,
  };
}

/**
 * SCHEDULED → QUEUED for jobs a scheduler of Jack's own published (SPEC §16):
 * $1 job ids, $2 their message ids, $3 the time. Other states stay.
 */
export const MARK_PUBLISHED = `UPDATE ${JOBS_TABLE} AS j
  SET state = ${JobState.JOB_STATE_QUEUED}, message_id = p.message_id, updated_at = $3
  FROM unnest($1::text[], $2::text[]) AS p(job_id, message_id)
  WHERE j.job_id = p.job_id AND j.state = ${JobState.JOB_STATE_SCHEDULED}`;

/** Jack's own error for a database that cannot be reached; the cause stays for the log. */
function unavailable(err: unknown): JackError {
  if (err instanceof JackError) return err;
  return new JackError('unavailable', 'the job ledger (PostgreSQL) cannot be reached', {
    cause: err,
  });
}

/** host:port/database of a URL, without user or password, for log lines. */
export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const database = parsed.pathname.replace(/^\//, '');
    return `${parsed.hostname || parsed.searchParams.get('host') || 'localhost'}${parsed.port === '' ? '' : `:${parsed.port}`}/${database}`;
  } catch {
    return '(unparsable LEDGER_DATABASE_URL)';
  }
}

interface PendingWrite {
  jobs: readonly AcceptedJob[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Opens the PostgreSQL ledger: connects, migrates under the advisory lock,
 * and answers the store. Rejects with a one-line reason when the database
 * cannot be reached or its schema is newer than this code.
 */
export async function openPostgresLedgerStore(
  options: PostgresLedgerOptions,
): Promise<LedgerStore> {
  const metrics = options.metrics ?? noopMetrics;
  const logger = options.logger;
  const queryTimeoutMs = options.queryTimeoutMs ?? 5_000;
  const target = describeTarget(options.url);
  const connection = {
    connectionString: options.url,
    application_name: 'jack-ledger',
    connectionTimeoutMillis: queryTimeoutMs,
    keepAlive: true,
  };
  const migrations = options.migrations ?? MIGRATIONS;
  await migrate(
    connection,
    migrations,
    options.migrationLockTimeoutMs ?? 30_000,
    queryTimeoutMs,
    logger,
    target,
  );

  const pool = new pg.Pool({
    ...connection,
    max: options.poolSize ?? 10,
    idleTimeoutMillis: 30_000,
    statement_timeout: queryTimeoutMs,
    query_timeout: queryTimeoutMs + 500,
    idle_in_transaction_session_timeout: queryTimeoutMs * 2,
  });
  // An idle connection that breaks (PostgreSQL restarted) is replaced on
  // the next checkout; the error itself must not crash the process.
  pool.on('error', (err) => logger.debug({ err: err.message }, 'ledger: idle connection closed'));

  const query = async <R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> => {
    try {
      return await pool.query<R>(text, values);
    } catch (err) {
      throw unavailable(err);
    }
  };

  /** Runs `work` in one transaction on one connection. */
  const transaction = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (err) {
      throw unavailable(err);
    }
    let broken = false;
    // A connection cut while checked out (PostgreSQL restarted, the session
    // killed) emits 'error' on the client, not the pool: without a listener
    // the process would crash. The query in flight fails anyway.
    const onLost = () => {
      broken = true;
    };
    client.on('error', onLost);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw unavailable(err);
    } finally {
      client.off('error', onLost);
      client.release(broken);
    }
  };

  // --- group commit of recordAccepted ---
  const pending: PendingWrite[] = [];
  let inFlight = 0;
  let scheduled = false;

  const writeBatch = async (jobs: AcceptedJob[]) => {
    // One row per job id: a statement may not touch one row twice.
    const unique = new Map<string, AcceptedJob>();
    for (const job of jobs) if (!unique.has(job.jobId)) unique.set(job.jobId, job);
    // In job id order: two batches locking overlapping rows take them in
    // the same order, so they wait for each other instead of deadlocking.
    const rows = [...unique.values()].sort((a, b) =>
      a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0,
    );
    const result = await query<{ state: number; inserted: number }>(INSERT_ACCEPTED, [
      JSON.stringify(rows.map(rowOfAccepted)),
    ]);
    for (const row of result.rows) {
      const state = row.state === JobState.JOB_STATE_SCHEDULED ? 'scheduled' : 'queued';
      for (let i = 0; i < row.inserted; i++) metrics.jobTransition(state);
    }
  };

  const flush = async () => {
    scheduled = false;
    if (pending.length === 0) return;
    const batch: PendingWrite[] = [];
    let rows = 0;
    while (pending.length > 0) {
      const next = pending[0] as PendingWrite;
      if (batch.length > 0 && rows + next.jobs.length > MAX_BATCH_ROWS) break;
      batch.push(next);
      rows += next.jobs.length;
      pending.shift();
    }
    inFlight += 1;
    try {
      const jobs = batch.flatMap((w) => w.jobs);
      for (let i = 0; i < jobs.length; i += MAX_BATCH_ROWS) {
        await writeBatch(jobs.slice(i, i + MAX_BATCH_ROWS));
      }
      for (const w of batch) w.resolve();
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      inFlight -= 1;
      schedule();
    }
  };

  function schedule() {
    if (scheduled || pending.length === 0 || inFlight >= MAX_BATCHES_IN_FLIGHT) return;
    scheduled = true;
    // A microtask, not setImmediate: the recorder already gathers a turn's
    // calls, and waiting for the next turn (its whole poll phase under
    // load) only added latency to every Enqueue.
    queueMicrotask(() => void flush());
  }

  // --- reports and cancels: read FOR UPDATE, apply the rules, write ---
  const change = async (
    jobId: string,
    at: Date,
    decide: (record: Job | undefined) => Outcome | undefined,
  ): Promise<Job | undefined> => {
    for (let race = 0; race < MAX_REPORT_RACES; race++) {
      const result = await transaction(async (client) => {
        const found = await client.query<Row>(
          `SELECT ${SELECT_COLUMNS} FROM ${JOBS_TABLE} WHERE job_id = $1 FOR UPDATE`,
          [jobId],
        );
        const before = found.rows[0] === undefined ? undefined : jobOfRow(found.rows[0]);
        const outcome = decide(before);
        if (outcome === undefined) return { done: true, record: undefined };
        if (!outcome.changed) return { done: true, record: outcome.record };
        if (before === undefined) {
          const inserted = await client.query(INSERT_ONE, valuesOf(outcome.record));
          // Another replica created it since the SELECT: read it again, locked.
          if (inserted.rowCount === 0) return { done: false, record: undefined };
        } else {
          await client.query(UPDATE_ONE, valuesOf(outcome.record));
        }
        observeTransition(metrics, before, outcome.record, at);
        return { done: true, record: outcome.record };
      });
      if (result.done) return result.record;
    }
    throw new JackError('unavailable', 'the job ledger is too busy with this job; retry');
  };

  // --- LISTEN/NOTIFY ---
  const listeners = new Set<(jobId: string) => void>();
  let listenClient: pg.Client | undefined;
  let listenRetry: NodeJS.Timeout | undefined;
  let listenDelayMs = LISTEN_RETRY_MIN_MS;
  let closed = false;
  /** When the LISTEN connection was lost: changes since then are announced after it is back. */
  let lostAt: Date | undefined;

  const notify = (jobId: string) => {
    for (const listener of [...listeners]) {
      try {
        listener(jobId);
      } catch {
        // A listener's failure is its own; the others still hear of the change.
      }
    }
  };

  const listen = async () => {
    if (closed || listenClient !== undefined) return;
    const client = new pg.Client({ ...connection, query_timeout: queryTimeoutMs });
    listenClient = client;
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      client.removeAllListeners('notification');
      void client.end().catch(() => {});
      if (listenClient === client) listenClient = undefined;
      if (closed) return;
      lostAt ??= new Date();
      logger.warn(
        { ledger: target, retryMs: listenDelayMs },
        'ledger: change notifications lost; reconnecting',
      );
      listenRetry = setTimeout(() => {
        listenRetry = undefined;
        void listen();
      }, listenDelayMs);
      listenRetry.unref();
      listenDelayMs = Math.min(listenDelayMs * 2, LISTEN_RETRY_MAX_MS);
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL && message.payload !== undefined) {
        notify(message.payload);
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      listenDelayMs = LISTEN_RETRY_MIN_MS;
    } catch {
      onLost();
      return;
    }
    if (lostAt !== undefined) {
      const since = lostAt;
      lostAt = undefined;
      logger.info({ ledger: target }, 'ledger: change notifications back');
      await announceChangesSince(since);
    }
  };

  /**
   * Announces the records changed while notifications were lost (with a
   * margin for the clocks of other replicas), so a watch misses nothing.
   */
  const announceChangesSince = async (since: Date) => {
    try {
      const changed = await query<{ job_id: string }>(
        `SELECT job_id FROM ${JOBS_TABLE} WHERE updated_at >= $1 ORDER BY updated_at LIMIT $2`,
        [new Date(since.getTime() - CATCH_UP_MARGIN_MS), MAX_CATCH_UP_RECORDS],
      );
      for (const row of changed.rows) notify(row.job_id);
    } catch {
      // The database went again: the next reconnect catches up.
    }
  };

  await listen();

  logger.info({ ledger: target, schemaVersion: migrations.length }, 'job ledger on PostgreSQL');

  return {
    kind: 'postgres',
    shared: true,

    recordAccepted(jobs) {
      if (jobs.length === 0) return Promise.resolve();
      if (closed) return Promise.reject(new JackError('unavailable', 'the job ledger is closed'));
      return new Promise<void>((resolve, reject) => {
        pending.push({ jobs, resolve, reject });
        schedule();
      });
    },

    async recordPublished(published, at) {
      if (published.length === 0) return;
      const result = await query(MARK_PUBLISHED, [
        published.map((p) => p.jobId),
        published.map((p) => p.messageId),
        at,
      ]);
      for (let i = 0; i < (result.rowCount ?? 0); i++) metrics.jobTransition('queued');
    },

    async cancel(jobId, at) {
      return change(jobId, at, (record) => applyCancel(record, at));
    },

    async report(report: JobReport, at: Date) {
      const record = await change(report.jobId, at, (before) => applyReport(before, report, at));
      return record as Job;
    },

    async get(jobId) {
      const result = await query<Row>(
        `SELECT ${SELECT_COLUMNS} FROM ${JOBS_TABLE} WHERE job_id = $1`,
        [jobId],
      );
      const row = result.rows[0];
      return row === undefined ? undefined : jobOfRow(row);
    },

    async list(q: ListJobsQuery): Promise<ListJobsPage> {
      const where: string[] = [];
      const values: unknown[] = [];
      const param = (value: unknown) => {
        values.push(value);
        return `$${values.length}`;
      };
      if (q.producerId !== undefined) where.push(`producer_id = ${param(q.producerId)}`);
      if (q.jobType !== undefined) where.push(`job_type = ${param(q.jobType)}`);
      if (q.states.length > 0) where.push(`state = ANY(${param([...q.states])}::smallint[])`);
      if (!q.includeShadow) where.push('NOT shadow');
      if (q.createdAfter !== undefined) where.push(`created_at > ${param(q.createdAfter)}`);
      if (q.createdBefore !== undefined) where.push(`created_at < ${param(q.createdBefore)}`);
      if (q.after !== undefined) {
        where.push(`(created_at, job_id) < (${param(q.after.createdAt)}, ${param(q.after.jobId)})`);
      }
      const limit = param(q.limit + 1);
      const result = await query<Row>(
        `SELECT ${SELECT_COLUMNS} FROM ${JOBS_TABLE}
         ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY created_at DESC, job_id DESC LIMIT ${limit}`,
        values,
      );
      const jobs = result.rows.slice(0, q.limit).map(jobOfRow);
      const last = jobs.at(-1);
      const more = result.rows.length > q.limit && last !== undefined;
      return {
        jobs,
        next: more ? { createdAt: last.createdAt ?? new Date(0), jobId: last.jobId } : undefined,
      };
    },

    onChange(listener) {
      const own = (jobId: string) => listener(jobId);
      listeners.add(own);
      return () => {
        listeners.delete(own);
      };
    },

    async deleteExpired(before, batchSize) {
      return transaction(async (client) => {
        // One replica at a time: the others skip this round.
        const lock = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_xact_lock($1, $2) AS locked',
          [LOCK_CLASS, RETENTION_LOCK],
        );
        if (lock.rows[0]?.locked !== true) return 0;
        // A SCHEDULED job waits for its run_at, however far ahead.
        const deleted = await client.query(
          `DELETE FROM ${JOBS_TABLE} WHERE job_id IN (
             SELECT job_id FROM ${JOBS_TABLE}
             WHERE updated_at < $1 AND (state <> $3 OR run_at IS NULL OR run_at < $1)
             ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
          [before, batchSize, JobState.JOB_STATE_SCHEDULED],
        );
        return deleted.rowCount ?? 0;
      });
    },

    async ping() {
      await query('SELECT 1');
    },

    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      if (listenRetry !== undefined) clearTimeout(listenRetry);
      // Let batches already queued finish before the pool goes.
      const deadline = Date.now() + queryTimeoutMs;
      while ((pending.length > 0 || inFlight > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      for (const w of pending.splice(0)) {
        w.reject(new JackError('unavailable', 'the job ledger is closed'));
      }
      const client = listenClient;
      listenClient = undefined;
      await Promise.allSettled([client?.end(), pool.end()]);
    },
  };
}

/**
 * Applies the migrations this database lacks, under a session advisory lock
 * held on a connection of its own: a second replica waits for the first and
 * then finds nothing to do. A schema newer than `migrations` is refused.
 */
async function migrate(
  connection: pg.ClientConfig,
  migrations: readonly Migration[],
  lockTimeoutMs: number,
  queryTimeoutMs: number,
  logger: Logger,
  target: string,
): Promise<void> {
  const client = new pg.Client({ ...connection, query_timeout: lockTimeoutMs + queryTimeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new JackError(
      'unavailable',
      `LEDGER_DATABASE_URL: cannot connect to PostgreSQL at ${target} (${(err as Error).message})`,
      { cause: err },
    );
  }
  try {
    await client.query(`SET lock_timeout = ${Math.ceil(lockTimeoutMs)}`);
    try {
      await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, MIGRATION_LOCK]);
    } catch (err) {
      throw new JackError(
        'unavailable',
        `LEDGER_DATABASE_URL: another replica held the ledger's migration lock for more than ${lockTimeoutMs} ms`,
        { cause: err },
      );
    }
    await client.query(`SET statement_timeout = ${Math.ceil(queryTimeoutMs * 6)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const found = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${MIGRATIONS_TABLE}`,
    );
    const current = found.rows[0]?.version ?? 0;
    const latest = migrations.length;
    if (current > latest) {
      throw new JackError(
        'failed_precondition',
        `the job ledger database at ${target} has schema version ${current}, newer than this Jack knows (${latest}): upgrade Jack, or point LEDGER_DATABASE_URL at another database`,
      );
    }
    for (const migration of migrations.slice(current)) {
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${MIGRATIONS_TABLE} (version, name) VALUES ($1, $2)`, [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw new JackError(
          'failed_precondition',
          `the job ledger migration ${migration.version} (${migration.name}) failed on ${target}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      logger.info(
        { ledger: target, version: migration.version, migration: migration.name },
        'ledger: schema migrated',
      );
    }
    await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, MIGRATION_LOCK]);
  } catch (err) {
    if (err instanceof JackError) throw err;
    throw new JackError(
      'unavailable',
      `LEDGER_DATABASE_URL: migrating the job ledger at ${target} failed (${(err as Error).message})`,
      { cause: err },
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** The schema version this code knows, for logs and tests. */
export { SCHEMA_VERSION };
