/**
 * The worker (SPEC §15): lanes in, handlers run, outcomes settled and
 * reported. One dispatcher for every lane, so a free slot always goes to the
 * highest-priority lane with a message waiting.
 */
import { hostname } from 'node:os';
import { type JackClient, JobState, Queue, TERMINAL_JOB_STATES } from '../client/index.js';
import type { Job as LedgerJob } from '../gen/jack/jobs.js';
import {
  decodeJob,
  isJackMessage,
  type Job,
  NonRetryableError,
  PRIORITIES,
  type Priority,
} from './job.js';
import type { Delivery, LaneSource, WorkerBackend } from './lane-source.js';
import { createWorkerMetrics } from './metrics.js';

export type Handler = (job: Job, signal: AbortSignal) => Promise<unknown> | unknown;

/** A handler with a timeout of its own (per job type). */
export interface HandlerSpec {
  handle: Handler;
  /** ms; overrides the worker's `timeout` for this job type. */
  timeout?: number;
}

/** pino-compatible: `(fields, message)`. */
export interface WorkerLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface WorkerOptions {
  backend: WorkerBackend;
  /** Lane name (a subscription; a NATS consumer) per priority, any subset. */
  lanes: Partial<Record<Priority, string>>;
  /** By `job_type`. */
  handlers: Record<string, Handler | HandlerSpec>;
  /** Runs every job type without a handler of its own (`jack work`); without it such jobs are handed back. */
  fallback?: Handler | HandlerSpec;
  /** Jobs run at once. Default 8. */
  concurrency?: number;
  /** ms a job may run before its signal is aborted and it counts as failed. Default 5 min. */
  timeout?: number;
  /** Reports RUNNING / SUCCEEDED / FAILED / DEAD to Jack's ledger (§14); without it, local de-duplication only. */
  jack?: JackClient;
  logger?: WorkerLogger;
  /**
   * Hears a lane's stream failure (logged either way); e.g. a subscription
   * that does not exist, or a credential that may not pull it.
   */
  onLaneError?: (lane: Priority, err: Error) => void;
  /** Name in the ledger's `worker` field. Default host-pid-random. */
  name?: string;
  /** Messages a lane may hold beyond `concurrency` (waiting to start). Default 1. */
  prefetch?: number;
  /** ms `stop()` lets running jobs finish before aborting them. Default 30 s. */
  gracePeriod?: number;
  /** ms one report may take, its retries included, before it is dropped. Default 2 s. */
  reportTimeout?: number;
  /**
   * Development: creates each lane when missing — Pub/Sub: a subscription
   * filtered by the job types of `handlers` (all types with a `fallback`);
   * NATS: a durable pull consumer on the lane's subjects. Refused outside a
   * development setup (Pub/Sub: an emulator; NATS: `natsBackend({
   * development: true })`) unless `{ allowOutsideEmulator: true }`.
   */
  createSubscriptions?: boolean | { allowOutsideEmulator: true };
  /** Serves Prometheus metrics on this port (0: any free port) at /metrics; default: none. */
  metricsPort?: number;
  /** Address the metrics endpoint binds. Default 0.0.0.0. */
  metricsHost?: string;
  /** Finished job ids remembered for de-duplication. Default 10 000. */
  rememberFinished?: number;
}

export interface WorkerStats {
  succeeded: number;
  failed: number;
  dead: number;
  /** Deliveries of a job already finished, acknowledged without running. */
  duplicates: number;
  /** Deliveries handed back because another worker runs the same job right now. */
  runningElsewhere: number;
  /** Deliveries handed back: no handler, not Jack's, or the worker stopping. */
  returned: number;
  reportsSent: number;
  reportsDropped: number;
  running: number;
}

export interface Worker {
  /** Opens the lanes (creating them first with `createSubscriptions`); resolves once they are pulling. */
  start(): Promise<void>;
  /** Stops pulling, lets running jobs finish (grace period), hands the rest back, flushes reports. */
  stop(): Promise<void>;
  stats(): WorkerStats;
  /** The port of the metrics endpoint once started, when `metricsPort` was given. */
  metricsPort(): number | undefined;
}

const DEFAULT_CONCURRENCY = 8;
const DEFAULT_TIMEOUT_MS = 5 * 60_000;
const DEFAULT_GRACE_MS = 30_000;
const DEFAULT_REPORT_TIMEOUT_MS = 2_000;
const DEFAULT_REMEMBER = 10_000;
/** After a report failed, reports stop holding jobs back for this long (Jack is probably down). */
const JACK_DOWN_BACKOFF_MS = 5_000;
/** Reports in flight at most; beyond it a report is dropped (and counted). */
const MAX_PENDING_REPORTS = 10_000;
/** A RUNNING record of another worker older than the job's timeout plus this is taken as abandoned. */
const ABANDONED_MARGIN_MS = 30_000;
/** `error` of a report: the ledger keeps 1024 bytes; we send no more than that. */
const MAX_ERROR_CHARS = 1_024;

const QUEUE_OF: Record<Priority, Queue> = {
  immediate: Queue.QUEUE_IMMEDIATE,
  high: Queue.QUEUE_HIGH,
  medium: Queue.QUEUE_MEDIUM,
  low: Queue.QUEUE_LOW,
};

/** The reason a job's signal is aborted with on timeout. */
export class JobTimeoutError extends Error {
  constructor(ms: number) {
    super(`job timed out after ${ms} ms`);
    this.name = 'JobTimeoutError';
  }
}
class WorkerStoppingError extends Error {
  constructor() {
    super('worker stopped before the job finished');
    this.name = 'WorkerStoppingError';
  }
}

/** A Map used as a bounded insertion-ordered memory: the oldest entry goes first. */
class BoundedMap<V> extends Map<string, V> {
  constructor(private readonly limit: number) {
    super();
  }
  override set(key: string, value: V): this {
    this.delete(key);
    super.set(key, value);
    if (this.size > this.limit) this.delete(this.keys().next().value as string);
    return this;
  }
}

const silentLogger: WorkerLogger = {
  info() {},
  warn(fields, message) {
    process.stderr.write(`${JSON.stringify({ level: 'warn', msg: message, ...fields })}\n`);
  },
  error(fields, message) {
    process.stderr.write(`${JSON.stringify({ level: 'error', msg: message, ...fields })}\n`);
  },
};

type Claim = { kind: 'run'; attempt: number } | { kind: 'duplicate' } | { kind: 'elsewhere' };

export function createWorker(options: WorkerOptions): Worker {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const defaultTimeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
  const grace = options.gracePeriod ?? DEFAULT_GRACE_MS;
  const reportTimeout = options.reportTimeout ?? DEFAULT_REPORT_TIMEOUT_MS;
  const logger = options.logger ?? silentLogger;
  const name =
    options.name ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError('concurrency must be a whole number ≥ 1');
  }
  const laneNames = PRIORITIES.filter((p) => (options.lanes[p] ?? '') !== '');
  if (laneNames.length === 0) throw new RangeError('at least one lane is required');

  const handlers = new Map<string, HandlerSpec>();
  for (const [type, handler] of Object.entries(options.handlers)) {
    handlers.set(type, typeof handler === 'function' ? { handle: handler } : handler);
  }
  const fallback =
    options.fallback === undefined
      ? undefined
      : typeof options.fallback === 'function'
        ? { handle: options.fallback }
        : options.fallback;
  const handlerOf = (type: string) => handlers.get(type) ?? fallback;
  const timeoutOf = (type: string) => handlerOf(type)?.timeout ?? defaultTimeout;
  const longestTimeout = Math.max(
    defaultTimeout,
    ...[...handlers.values()].map((h) => h.timeout ?? 0),
  );

  const stats: WorkerStats = {
    succeeded: 0,
    failed: 0,
    dead: 0,
    duplicates: 0,
    runningElsewhere: 0,
    returned: 0,
    reportsSent: 0,
    reportsDropped: 0,
    running: 0,
  };
  /** Jobs this worker finished (SUCCEEDED or DEAD): a redelivery is acked without running. */
  const finished = new BoundedMap<true>(options.rememberFinished ?? DEFAULT_REMEMBER);
  /** Attempts this worker made per job: the attempt when neither backend nor ledger counts. */
  const localAttempts = new BoundedMap<number>(options.rememberFinished ?? DEFAULT_REMEMBER);
  const inFlight = new Set<string>();
  const waiting = new Map<Priority, Delivery[]>(laneNames.map((p) => [p, []]));
  const controllers = new Set<AbortController>();
  const pendingReports = new Set<Promise<void>>();
  const warnedTypes = new Set<string>();
  let notJackCount = 0;
  let jackDownUntil = 0;
  let stopping = false;
  let started = false;
  let settled: (() => void) | undefined;
  const sources = new Map<Priority, LaneSource>();
  const metrics = createWorkerMetrics();
  let boundMetricsPort: number | undefined;

  // ---- reports -------------------------------------------------------------

  /** Sends a report; answers the record, or undefined when it could not be delivered (dropped, counted). */
  function report(
    job: Job,
    state: JobState,
    attempt: number,
    error = '',
  ): Promise<LedgerJob | undefined> {
    const jack = options.jack;
    if (jack === undefined) return Promise.resolve(undefined);
    if (pendingReports.size >= MAX_PENDING_REPORTS) {
      stats.reportsDropped++;
      metrics.reportDropped();
      return Promise.resolve(undefined);
    }
    const sent = jack
      .reportJobStatus(
        {
          jobId: job.id,
          producerId: job.producerId,
          jobType: job.type,
          state,
          attempt,
          error: error.slice(0, MAX_ERROR_CHARS),
          worker: name,
          queue: QUEUE_OF[job.priority],
        },
        {
          deadlineMs: reportTimeout,
          retry: { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 500 },
        },
      )
      .then(
        (response) => {
          stats.reportsSent++;
          jackDownUntil = 0;
          return response.job;
        },
        (err: unknown) => {
          stats.reportsDropped++;
          metrics.reportDropped();
          if (Date.now() >= jackDownUntil) {
            logger.warn(
              { job_id: job.id, err: err instanceof Error ? err.message : String(err) },
              'job report dropped: Jack did not answer (jobs keep running; reports are sent again when it does)',
            );
          }
          jackDownUntil = Date.now() + JACK_DOWN_BACKOFF_MS;
          return undefined;
        },
      );
    const tracked = sent.then(() => undefined);
    pendingReports.add(tracked);
    void tracked.finally(() => pendingReports.delete(tracked));
    return sent;
  }

  /**
   * Reports RUNNING and learns from the answer whether to run. The first
   * guess of the attempt is the backend's delivery count, else this
   * worker's own count; when the ledger already holds that attempt (a
   * redelivery the backend did not count) the attempt is the record's
   * `attempts` + 1. While Jack is unreachable the job runs on the guess.
   */
  async function claim(job: Job, guess: number): Promise<Claim> {
    if (options.jack === undefined) return { kind: 'run', attempt: guess };
    let attempt = guess;
    for (let round = 0; round < 3; round++) {
      const answer = report(job, JobState.JOB_STATE_RUNNING, attempt);
      // Jack was down a moment ago: report in the background, do not wait.
      if (Date.now() < jackDownUntil) return { kind: 'run', attempt };
      const record = await answer;
      if (record === undefined) return { kind: 'run', attempt };
      if (TERMINAL_JOB_STATES.has(record.state)) return { kind: 'duplicate' };
      if (
        record.state === JobState.JOB_STATE_RUNNING &&
        record.attempts === attempt &&
        record.worker === name
      ) {
        return { kind: 'run', attempt };
      }
      if (
        record.state === JobState.JOB_STATE_RUNNING &&
        record.attempts >= attempt &&
        record.worker !== name
      ) {
        const startedMs = record.startedAt?.getTime() ?? 0;
        if (Date.now() - startedMs < timeoutOf(job.type) + ABANDONED_MARGIN_MS) {
          return { kind: 'elsewhere' };
        }
      }
      attempt = Math.max(attempt, record.attempts) + 1;
    }
    return { kind: 'run', attempt };
  }

  // ---- running one job ----------------------------------------------------

  async function handle(lane: Priority, delivery: Delivery): Promise<void> {
    if (!isJackMessage(delivery.attributes)) {
      // Not Jack's: left to the subscription's dead-letter policy.
      stats.returned++;
      if (notJackCount++ % 1000 === 0) {
        logger.warn(
          { lane, message_id: delivery.messageId, seen: notJackCount },
          'message without job_id or job_type: not a Jack job, handed back (a dead-letter policy on the subscription takes it)',
        );
      }
      delivery.nack();
      return;
    }
    const jobId = delivery.attributes.job_id as string;
    const type = delivery.attributes.job_type as string;
    const spec = handlerOf(type);
    if (spec === undefined) {
      stats.returned++;
      if (!warnedTypes.has(type)) {
        warnedTypes.add(type);
        logger.warn(
          { lane, job_type: type },
          'no handler for this job type: its jobs are handed back, never acknowledged',
        );
      }
      delivery.nack();
      return;
    }
    if (finished.has(jobId)) {
      stats.duplicates++;
      metrics.duplicate(type);
      delivery.ack();
      return;
    }
    if (inFlight.has(jobId)) {
      stats.runningElsewhere++;
      delivery.nack();
      return;
    }
    inFlight.add(jobId);
    try {
      const guess = delivery.deliveryAttempt ?? (localAttempts.get(jobId) ?? 0) + 1;
      const job = decodeJob(delivery, lane, guess);
      const claimed = await claim(job, guess);
      if (claimed.kind === 'duplicate') {
        stats.duplicates++;
        metrics.duplicate(type);
        finished.set(jobId, true);
        delivery.ack();
        return;
      }
      if (claimed.kind === 'elsewhere') {
        stats.runningElsewhere++;
        delivery.nack();
        return;
      }
      job.attempt = claimed.attempt;
      localAttempts.set(jobId, claimed.attempt);
      await run(job, spec, delivery);
    } finally {
      inFlight.delete(jobId);
    }
  }

  async function run(job: Job, spec: HandlerSpec, delivery: Delivery): Promise<void> {
    const timeoutMs = timeoutOf(job.type);
    const controller = new AbortController();
    controllers.add(controller);
    const timer = setTimeout(() => controller.abort(new JobTimeoutError(timeoutMs)), timeoutMs);
    const startedAt = performance.now();
    let error: unknown;
    let ok = false;
    try {
      const aborted = new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), {
          once: true,
        });
      });
      // A handler that ignores its signal does not hold the slot past its timeout.
      await Promise.race([
        Promise.resolve().then(() => spec.handle(job, controller.signal)),
        aborted,
      ]);
      ok = true;
    } catch (err) {
      error = err;
    } finally {
      clearTimeout(timer);
      controllers.delete(controller);
    }
    const seconds = (performance.now() - startedAt) / 1000;
    if (ok) {
      stats.succeeded++;
      metrics.finished('succeeded', job.type, seconds);
      finished.set(job.id, true);
      localAttempts.delete(job.id);
      delivery.ack();
      void report(job, JobState.JOB_STATE_SUCCEEDED, job.attempt);
      return;
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const stopped = error instanceof WorkerStoppingError;
    const last = job.attempt >= 1 + job.maxRetries;
    if (!stopped && (error instanceof NonRetryableError || last)) {
      stats.dead++;
      metrics.finished('dead', job.type, seconds);
      finished.set(job.id, true);
      localAttempts.delete(job.id);
      // Never again: `term` where the backend has it (NATS announces it to a dead-letter process).
      if (delivery.term === undefined) delivery.ack();
      else delivery.term();
      void report(job, JobState.JOB_STATE_DEAD, job.attempt, message);
      logger.warn(
        { job_id: job.id, job_type: job.type, attempt: job.attempt, err: message },
        'job dead',
      );
      return;
    }
    stats.failed++;
    metrics.finished('failed', job.type, seconds);
    // Cut short by stop(): no backoff, another worker runs it at once.
    delivery.nack(stopped ? 0 : undefined);
    void report(job, JobState.JOB_STATE_FAILED, job.attempt, message);
    logger.info(
      { job_id: job.id, job_type: job.type, attempt: job.attempt, err: message },
      'job failed, redelivery follows',
    );
  }

  // ---- dispatch -------------------------------------------------------------

  /** Fills free slots from the highest-priority lane with a message waiting. */
  function pump(): void {
    while (!stopping && stats.running < concurrency) {
      const lane = laneNames.find((p) => (waiting.get(p) as Delivery[]).length > 0);
      if (lane === undefined) return;
      const delivery = (waiting.get(lane) as Delivery[]).shift() as Delivery;
      stats.running++;
      void handle(lane, delivery)
        .catch((err: unknown) => {
          // A bug of ours, not the handler's (that is caught in run): hand the message back.
          logger.error({ err: String(err) }, 'worker error; message handed back');
          delivery.nack();
        })
        .finally(() => {
          stats.running--;
          if (stats.running === 0) settled?.();
          pump();
        });
    }
  }

  function onDelivery(lane: Priority, delivery: Delivery): void {
    if (stopping) {
      stats.returned++;
      delivery.nack(0);
      return;
    }
    (waiting.get(lane) as Delivery[]).push(delivery);
    pump();
  }

  return {
    async start() {
      if (started) throw new Error('the worker was already started');
      started = true;
      if (options.createSubscriptions) {
        const create = options.backend.createLane;
        if (create === undefined)
          throw new Error(`the ${options.backend.kind} backend cannot create lanes`);
        for (const lane of laneNames) {
          await create.call(options.backend, options.lanes[lane] as string, {
            priority: lane,
            jobTypes: fallback === undefined ? [...handlers.keys()] : undefined,
            allowOutsideEmulator: options.createSubscriptions !== true,
          });
        }
      }
      if (options.metricsPort !== undefined) {
        boundMetricsPort = await metrics.listen(
          options.metricsPort,
          options.metricsHost ?? '0.0.0.0',
        );
      }
      const prefetch = options.prefetch ?? 1;
      for (const lane of laneNames) {
        const source = options.backend.lane(options.lanes[lane] as string, {
          maxMessages: concurrency + prefetch,
          maxLeaseMs: longestTimeout + 60_000,
          closeTimeoutMs: grace + 10_000,
        });
        sources.set(lane, source);
        source.start(
          (delivery) => onDelivery(lane, delivery),
          (err) => {
            logger.error({ lane, err: err.message }, 'lane stream error');
            options.onLaneError?.(lane, err);
          },
        );
      }
      logger.info(
        {
          worker: name,
          lanes: laneNames,
          concurrency,
          backend: options.backend.kind,
          reports: options.jack !== undefined,
        },
        'worker started',
      );
    },

    async stop() {
      if (stopping) return;
      stopping = true;
      // Stop pulling now; each source waits until its held messages are settled.
      const closing = [...sources.values()].map((s) => s.close());
      for (const queue of waiting.values()) {
        for (const delivery of queue.splice(0)) {
          stats.returned++;
          // At once, not after a backoff: another worker takes it now.
          delivery.nack(0);
        }
      }
      const idle = () =>
        stats.running === 0
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              settled = resolve;
            });
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        idle(),
        new Promise<void>((r) => {
          graceTimer = setTimeout(r, grace);
        }),
      ]);
      clearTimeout(graceTimer);
      for (const controller of controllers) controller.abort(new WorkerStoppingError());
      await idle();
      await Promise.allSettled(closing);
      await Promise.allSettled([...pendingReports]);
      await options.backend.close();
      await metrics.close();
      logger.info({ worker: name, ...stats }, 'worker stopped');
    },

    stats: () => ({ ...stats }),
    metricsPort: () => boundMetricsPort,
  };
}
