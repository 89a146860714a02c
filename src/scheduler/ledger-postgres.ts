/**
 * The ledger scheduler's store with `JOB_LEDGER=postgres` (SPEC §16): the
 * message of each future job in `jack_scheduled_messages`, beside its
 * SCHEDULED record in `jack_jobs` (migration 2 of the ledger's schema, which
 * the ledger store applies at startup).
 *
 * - `add` writes the record and the message in one statement.
 * - `fireDue` locks a batch of due messages with `FOR UPDATE SKIP LOCKED`
 *   (another replica's batch is skipped, so each job is claimed by one),
 *   publishes them while holding the locks, then marks them QUEUED and
 *   deletes their messages in the same transaction. A replica that dies
 *   before the commit releases its locks with its connection: the job is
 *   claimed again, and published again under the same job id.
 * - `cancel` deletes a message only if it can lock it at once (`SKIP
 *   LOCKED`): a job being published is not cancelled.
 * - A job due sooner than a poll away is announced on a NOTIFY channel so
 *   every replica wakes for it.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { JackError } from '../errors.js';
import { JobState } from '../ledger/ledger.js';
import { JOBS_TABLE, SCHEDULED_SOON_CHANNEL, SCHEDULED_TABLE } from '../ledger/migrations.js';
import { MARK_PUBLISHED } from '../ledger/postgres.js';
import { type Metrics, noopMetrics } from '../metrics.js';
import { PRIORITIES, type Priority } from '../queue/backend.js';
import type { DueJob, ScheduledJob, ScheduleStore } from './ledger-store.js';

export interface PostgresScheduleOptions {
  /** LEDGER_DATABASE_URL. */
  url: string;
  logger: Logger;
  metrics?: Metrics;
  /** A job due within this many ms of being added is announced to every replica. */
  soonMs: number;
  /** Longest a claimed batch may take to publish, ms: its transaction stays open that long. */
  publishBudgetMs: number;
  /** Upper bound of every query, ms (default 5000). */
  queryTimeoutMs?: number;
  /** Connections in the pool (default 6). */
  poolSize?: number;
}

/** Reconnect delay of the LISTEN connection, ms. */
const LISTEN_RETRY_MS = 500;

/**
 * The group commit of `add`: one row per job, records and messages in one
 * statement. A job id the ledger already knows inserts nothing.
 */
const ADD_MANY = `WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::timestamptz[],
      $6::timestamptz[], $7::integer[], $8::text[], $9::text[], $10::boolean[], $11::integer[],
      $12::text[], $13::bytea[], $14::jsonb[])
      AS t(job_id, producer_id, job_type, queue, created_at, run_at, max_retries, trace_id,
        correlation_id, shadow, payload_bytes, priority, data, attributes)),
  job AS (
    INSERT INTO ${JOBS_TABLE} (job_id, producer_id, job_type, queue, state, created_at, run_at,
      updated_at, max_retries, trace_id, correlation_id, shadow, message_id, payload_bytes)
    SELECT job_id, producer_id, job_type, queue, ${JobState.JOB_STATE_SCHEDULED}, created_at, run_at,
      created_at, max_retries, trace_id, correlation_id, shadow, '', payload_bytes FROM input
    ON CONFLICT (job_id) DO NOTHING
    RETURNING job_id)
  INSERT INTO ${SCHEDULED_TABLE} (job_id, run_at, priority, data, attributes)
  SELECT i.job_id, i.run_at, i.priority, i.data, i.attributes FROM input i JOIN job USING (job_id)
  RETURNING job_id`;

/** Most jobs in one group-commit statement, and statements in flight at once. */
const MAX_ADD_BATCH = 500;
const MAX_ADD_BATCHES_IN_FLIGHT = 2;

interface PendingAdd {
  job: ScheduledJob;
  resolve: (added: boolean) => void;
  reject: (err: unknown) => void;
}

/** One statement: the message deleted only when no firing round holds it, the record CANCELLED with it. */
const CANCEL = `WITH gone AS (
    DELETE FROM ${SCHEDULED_TABLE} WHERE job_id IN (
      SELECT job_id FROM ${SCHEDULED_TABLE} WHERE job_id = $1 FOR UPDATE SKIP LOCKED)
    RETURNING job_id),
  marked AS (
    UPDATE ${JOBS_TABLE} AS j SET state = ${JobState.JOB_STATE_CANCELLED}, updated_at = $2, finished_at = $2
    FROM gone WHERE j.job_id = gone.job_id AND j.state = ${JobState.JOB_STATE_SCHEDULED}
    RETURNING j.job_id)
  SELECT (SELECT count(*) FROM gone)::int AS cancelled`;

const CLAIM = `SELECT job_id, run_at, priority, data, attributes FROM ${SCHEDULED_TABLE}
  WHERE run_at <= $1 ORDER BY run_at LIMIT $2 FOR UPDATE SKIP LOCKED`;

interface ClaimedRow {
  job_id: string;
  run_at: Date;
  priority: string;
  data: Buffer;
  attributes: Record<string, string>;
}

function unavailable(err: unknown): JackError {
  if (err instanceof JackError) return err;
  return new JackError('unavailable', 'the scheduler database (PostgreSQL) cannot be reached', {
    cause: err,
  });
}

const priorityOf = (text: string): Priority =>
  (PRIORITIES as readonly string[]).includes(text) ? (text as Priority) : 'medium';

export function openPostgresScheduleStore(options: PostgresScheduleOptions): ScheduleStore {
  const { logger, soonMs } = options;
  const metrics = options.metrics ?? noopMetrics;
  const queryTimeoutMs = options.queryTimeoutMs ?? 5_000;
  const connection = {
    connectionString: options.url,
    application_name: 'jack-scheduler',
    connectionTimeoutMillis: queryTimeoutMs,
    keepAlive: true,
  };
  const pool = new pg.Pool({
    ...connection,
    max: options.poolSize ?? 6,
    idleTimeoutMillis: 30_000,
    statement_timeout: queryTimeoutMs,
    query_timeout: queryTimeoutMs + 500,
    // A firing round holds its transaction open while it publishes.
    idle_in_transaction_session_timeout: options.publishBudgetMs + queryTimeoutMs,
  });
  pool.on('error', (err) =>
    logger.debug({ err: err.message }, 'scheduler: idle connection closed'),
  );

  const query = async <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    try {
      return await pool.query<R>(text, values);
    } catch (err) {
      throw unavailable(err);
    }
  };

  // --- group commit of add: calls arriving together go as one statement ---
  const pending: PendingAdd[] = [];
  let addsInFlight = 0;
  let flushQueued = false;

  const writeAdds = async (batch: PendingAdd[]) => {
    // One row per job id (first wins); in job id order, so overlapping
    // batches of two replicas wait for each other instead of deadlocking.
    const byId = new Map<string, PendingAdd>();
    for (const add of batch)
      if (!byId.has(add.job.message.jobId)) byId.set(add.job.message.jobId, add);
    const rows = [...byId.values()].sort((a, b) =>
      a.job.message.jobId < b.job.message.jobId ? -1 : 1,
    );
    const column = <T>(of: (job: ScheduledJob) => T) => rows.map((add) => of(add.job));
    const result = await query<{ job_id: string }>(ADD_MANY, [
      column((j) => j.record.jobId),
      column((j) => j.record.producerId),
      column((j) => j.record.jobType),
      column((j) => j.record.queue),
      column((j) => j.record.createdAt),
      column((j) => j.runAt),
      column((j) => j.record.maxRetries),
      column((j) => j.record.traceId),
      column((j) => j.record.correlationId),
      column((j) => j.record.shadow),
      column((j) => j.record.payloadBytes),
      column((j) => j.message.priority),
      column((j) => j.message.data),
      column((j) => JSON.stringify(j.message.attributes)),
    ]);
    const added = new Set(result.rows.map((r) => r.job_id));
    for (let i = 0; i < added.size; i++) metrics.jobTransition('scheduled');
    // The earliest job due soon is announced once for the batch: a hint
    // only (polling finds it anyway), so a failure is not the caller's.
    const now = Date.now();
    let soonest = Number.POSITIVE_INFINITY;
    for (const add of rows) {
      const at = add.job.runAt.getTime();
      if (added.has(add.job.message.jobId) && at - now < soonMs) soonest = Math.min(soonest, at);
    }
    if (soonest !== Number.POSITIVE_INFINITY) {
      await query('SELECT pg_notify($1, $2)', [SCHEDULED_SOON_CHANNEL, String(soonest)]).catch(
        () => {},
      );
    }
    for (const add of batch) {
      // A second add of one id in the batch found it already known.
      add.resolve(byId.get(add.job.message.jobId) === add && added.has(add.job.message.jobId));
    }
  };

  const flush = async () => {
    flushQueued = false;
    const batch = pending.splice(0, MAX_ADD_BATCH);
    if (batch.length === 0) return;
    addsInFlight += 1;
    try {
      await writeAdds(batch);
    } catch (err) {
      for (const add of batch) add.reject(err);
    } finally {
      addsInFlight -= 1;
      flushSoon();
    }
  };

  function flushSoon() {
    if (flushQueued || pending.length === 0 || addsInFlight >= MAX_ADD_BATCHES_IN_FLIGHT) return;
    flushQueued = true;
    setImmediate(() => void flush());
  }

  // --- LISTEN for jobs other replicas added that are due soon ---
  const listeners = new Set<(runAt: Date) => void>();
  let listenClient: pg.Client | undefined;
  let listenRetry: NodeJS.Timeout | undefined;
  let closed = false;

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
      // Polling still finds every job meanwhile; the wake-up only makes it sooner.
      listenRetry = setTimeout(() => {
        listenRetry = undefined;
        void listen();
      }, LISTEN_RETRY_MS);
      listenRetry.unref();
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.channel !== SCHEDULED_SOON_CHANNEL) return;
      const at = Number(message.payload);
      if (!Number.isFinite(at)) return;
      for (const listener of [...listeners]) listener(new Date(at));
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${SCHEDULED_SOON_CHANNEL}`);
    } catch {
      onLost();
    }
  };
  void listen();

  return {
    kind: 'postgres',

    add(job: ScheduledJob) {
      if (closed) return Promise.reject(new JackError('unavailable', 'the scheduler is closed'));
      return new Promise<boolean>((resolve, reject) => {
        pending.push({ job, resolve, reject });
        flushSoon();
      });
    },

    async cancel(jobId, at) {
      const result = await query<{ cancelled: number }>(CANCEL, [jobId, at]);
      const cancelled = (result.rows[0]?.cancelled ?? 0) > 0;
      if (cancelled) metrics.jobTransition('cancelled');
      return cancelled;
    },

    async fireDue(now, limit, publish) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw unavailable(err);
      }
      let broken = false;
      // A connection cut while checked out (PostgreSQL restarted, the
      // session killed) emits 'error' on the client, not the pool: without a
      // listener the process would crash. The query in flight fails anyway.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const claimed = await client.query<ClaimedRow>(CLAIM, [now, limit]);
        if (claimed.rows.length === 0) {
          await client.query('COMMIT');
          return 0;
        }
        const jobs: DueJob[] = claimed.rows.map((row) => ({
          message: {
            jobId: row.job_id,
            priority: priorityOf(row.priority),
            data: row.data,
            attributes: row.attributes,
          },
          runAt: row.run_at,
        }));
        const outcomes = await publish(jobs);
        const ids: string[] = [];
        const messageIds: string[] = [];
        jobs.forEach((job, i) => {
          const outcome = outcomes[i];
          if (outcome !== undefined && 'messageId' in outcome) {
            ids.push(job.message.jobId);
            messageIds.push(outcome.messageId);
          }
        });
        if (ids.length > 0) {
          const marked = await client.query(MARK_PUBLISHED, [ids, messageIds, new Date()]);
          await client.query(`DELETE FROM ${SCHEDULED_TABLE} WHERE job_id = ANY($1::text[])`, [
            ids,
          ]);
          await client.query('COMMIT');
          for (let i = 0; i < (marked.rowCount ?? 0); i++) metrics.jobTransition('queued');
        } else {
          await client.query('COMMIT');
        }
        return jobs.length;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw unavailable(err);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },

    async nextRunAt() {
      const result = await query<{ at: Date | null }>(
        `SELECT min(run_at) AS at FROM ${SCHEDULED_TABLE}`,
      );
      return result.rows[0]?.at ?? undefined;
    },

    async waiting() {
      const result = await query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${SCHEDULED_TABLE}`,
      );
      return result.rows[0]?.n ?? 0;
    },

    onSoon(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    async ping() {
      await query('SELECT 1');
    },

    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      if (listenRetry !== undefined) clearTimeout(listenRetry);
      // Adds already queued are written (or fail) before the pool goes.
      const deadline = Date.now() + queryTimeoutMs;
      while ((pending.length > 0 || addsInFlight > 0) && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      for (const add of pending.splice(0)) {
        add.reject(new JackError('unavailable', 'the scheduler is closed'));
      }
      const client = listenClient;
      listenClient = undefined;
      await Promise.allSettled([client?.end(), pool.end()]);
    },
  };
}
