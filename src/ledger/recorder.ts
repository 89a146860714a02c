/**
 * What the enqueue path calls once the backend accepted jobs (SPEC §14):
 * the queue is the truth, the ledger its record, so recording never fails
 * and never holds a call longer than LEDGER_WRITE_TIMEOUT.
 *
 * A write that fails or times out leaves its records in a bounded
 * in-process buffer (LEDGER_BUFFER; beyond it the oldest record is dropped
 * and counted), written by a retry loop with bounded backoff once the store
 * answers again. While records wait, calls add theirs to the buffer at once
 * rather than waiting for a store known to be down, and `healthy` is false
 * (the `jack.Jobs` health status). One log line when an outage starts, one
 * when it ends.
 *
 * A retried write never changes a record written before: the store leaves a
 * job id it already holds as it is (ON CONFLICT DO NOTHING), so a write that
 * timed out here but landed anyway is harmless when written again.
 *
 * The calls of one event-loop turn are written together (one store write,
 * one timeout), so a busy replica pays one write per turn, not per call.
 *
 * Also here: the retention loop, deleting expired records in small batches.
 */
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { withTimeout } from '../timeout.js';
import type { AcceptedJob, LedgerStore } from './ledger.js';

export interface LedgerRecorderOptions {
  store: LedgerStore;
  logger: Logger;
  metrics: Metrics;
  /** LEDGER_WRITE_TIMEOUT: the longest a `record` call waits for the store, ms. */
  writeTimeoutMs: number;
  /** LEDGER_BUFFER: most records waiting for the store. */
  bufferSize: number;
  /** First and longest delay between retries of the buffer, ms (default 100 and 5000). */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface LedgerRecorder {
  /**
   * Records accepted jobs. Never rejects, and resolves within the write
   * timeout: written, or waiting in the buffer.
   */
  record(jobs: readonly AcceptedJob[]): Promise<void>;
  /** False from a failed write until every waiting record is written. */
  readonly healthy: boolean;
  /** Calls `listener` on every change of `healthy`; returns the unsubscribe function. */
  onHealthChange(listener: (healthy: boolean) => void): () => void;
  /** Records waiting in the buffer now (being retried included). */
  readonly buffered: number;
  /** Records dropped from a full buffer since start. */
  readonly dropped: number;
  /**
   * Stops the retry loop after one last attempt (bounded by the write
   * timeout) to write what waits; what is still waiting then is lost and
   * logged. Does not close the store. Safe to call twice.
   */
  close(): Promise<void>;
}

/** Most records one retry writes. */
const RETRY_BATCH = 1000;

const TIMED_OUT = Symbol('timed out');

export function createLedgerRecorder(options: LedgerRecorderOptions): LedgerRecorder {
  const { store, logger, metrics, writeTimeoutMs, bufferSize } = options;
  const retryMinMs = options.retryMinMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 5_000;
  if (!Number.isInteger(bufferSize) || bufferSize < 1) {
    throw new RangeError(`bufferSize must be a positive integer, not ${bufferSize}`);
  }

  /** Oldest first. */
  let buffer: AcceptedJob[] = [];
  /** The batch a retry is writing now (still counted as waiting). */
  let retrying: readonly AcceptedJob[] = [];
  let dropped = 0;
  let healthy = true;
  let outage: { since: Date; failed: number; droppedBefore: number } | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryDelayMs = retryMinMs;
  let retryRunning: Promise<void> | undefined;
  let closed = false;
  const healthListeners = new Set<(healthy: boolean) => void>();

  const depth = () => buffer.length + retrying.length;

  const setHealthy = (value: boolean) => {
    if (healthy === value) return;
    healthy = value;
    for (const listener of [...healthListeners]) {
      try {
        listener(value);
      } catch {
        // A listener's failure is its own.
      }
    }
  };

  /** Adds records to the buffer, dropping the oldest beyond its bound. */
  const keep = (jobs: readonly AcceptedJob[], atFront = false) => {
    buffer = atFront ? [...jobs, ...buffer] : buffer.concat(jobs);
    const over = depth() - bufferSize;
    if (over > 0) {
      const fromBuffer = Math.min(over, buffer.length);
      buffer.splice(0, fromBuffer);
      dropped += fromBuffer;
      metrics.ledgerRecordsDropped(fromBuffer);
    }
    metrics.ledgerBufferDepth(depth());
  };

  /** A write failed: an outage starts (logged once) or goes on. */
  const failed = (jobs: readonly AcceptedJob[], err: unknown) => {
    metrics.ledgerWriteFailed(jobs.length);
    if (outage === undefined) {
      outage = { since: new Date(), failed: 0, droppedBefore: dropped };
      logger.warn(
        {
          ledger: store.kind,
          reason: err === TIMED_OUT ? `no answer within ${writeTimeoutMs} ms` : describe(err),
          buffer: bufferSize,
        },
        'job ledger writes failing: records wait in the buffer (calls still succeed)',
      );
    }
    outage.failed += jobs.length;
    setHealthy(false);
  };

  /** One write, bounded by the write timeout; resolves true when written. */
  const write = async (jobs: readonly AcceptedJob[]): Promise<boolean> => {
    try {
      const result = await withTimeout(
        store.recordAccepted(jobs).then(() => 'written' as const),
        writeTimeoutMs,
        () => TIMED_OUT,
      );
      if (result === TIMED_OUT) {
        failed(jobs, TIMED_OUT);
        return false;
      }
      return true;
    } catch (err) {
      failed(jobs, err);
      return false;
    }
  };

  const scheduleRetry = () => {
    if (closed || retryTimer !== undefined || retryRunning !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      retryRunning = retryOnce().finally(() => {
        retryRunning = undefined;
        if (depth() > 0) scheduleRetry();
      });
    }, retryDelayMs);
    retryTimer.unref();
  };

  /** Writes the oldest waiting records; on failure they go back to the front. */
  const retryOnce = async () => {
    if (buffer.length === 0) return;
    retrying = buffer.splice(0, RETRY_BATCH);
    const batch = retrying;
    const ok = await write(batch);
    retrying = [];
    if (!ok) {
      keep(batch, true);
      retryDelayMs = Math.min(retryDelayMs * 2, retryMaxMs);
      return;
    }
    retryDelayMs = retryMinMs;
    metrics.ledgerBufferDepth(depth());
    if (depth() === 0) recovered();
    else scheduleRetry();
  };

  const recovered = () => {
    if (outage !== undefined) {
      logger.info(
        {
          ledger: store.kind,
          seconds: Math.round((Date.now() - outage.since.getTime()) / 1000),
          delayed: outage.failed,
          dropped: dropped - outage.droppedBefore,
        },
        'job ledger writes work again: every waiting record is written',
      );
      outage = undefined;
    }
    setHealthy(true);
  };

  /**
   * The calls of one event-loop turn, written together: one store write and
   * one timeout for all of them instead of one each (a timer and its
   * promises per Enqueue cost more than the memory store's write).
   */
  let gathered: { jobs: readonly AcceptedJob[]; done: () => void }[] = [];
  const writeGathered = async () => {
    const calls = gathered;
    if (calls.length === 0) return; // close() wrote them already
    gathered = [];
    const jobs = calls.length === 1 ? (calls[0]?.jobs ?? []) : calls.flatMap((c) => c.jobs);
    if (closed || depth() > 0) {
      // The store failed since these calls came: they wait with the others.
      keep(jobs);
      scheduleRetry();
    } else if (!(await write(jobs))) {
      keep(jobs);
      scheduleRetry();
    }
    for (const call of calls) call.done();
  };

  return {
    record(jobs) {
      if (jobs.length === 0) return Promise.resolve();
      if (closed || depth() > 0) {
        // The store is known to be failing: wait with the others, in order.
        keep(jobs);
        scheduleRetry();
        return Promise.resolve();
      }
      return new Promise<void>((done) => {
        if (gathered.length === 0) setImmediate(() => void writeGathered());
        gathered.push({ jobs, done });
      });
    },
    get healthy() {
      return healthy;
    },
    onHealthChange(listener) {
      healthListeners.add(listener);
      return () => {
        healthListeners.delete(listener);
      };
    },
    get buffered() {
      return depth();
    },
    get dropped() {
      return dropped;
    },
    async close() {
      if (closed) return;
      await writeGathered();
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
      await retryRunning;
      if (buffer.length > 0) {
        const last = buffer.splice(0);
        if (!(await write(last))) {
          logger.warn(
            { ledger: store.kind, lost: last.length },
            'job ledger unreachable at shutdown: the records waiting in the buffer are lost',
          );
        }
      }
      metrics.ledgerBufferDepth(0);
    },
  };
}

/**
 * A failure for the log: the store's message and its cause's (the
 * database's own words; stores never put a URL or password in either).
 */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause === undefined || cause === '' ? err.message : `${err.message}: ${cause}`;
}

export interface RetentionOptions {
  store: LedgerStore;
  logger: Logger;
  /** LEDGER_RETENTION: records are deleted this long after their last change, ms. */
  retentionMs: number;
  /** How often a round starts, ms (default 60000). */
  intervalMs?: number;
  /** Records per delete (default 500): small, so no statement holds locks for long. */
  batchSize?: number;
  /** Most batches in one round (default 200); the next round goes on. */
  maxBatchesPerRound?: number;
  /** Clock, for tests. */
  now?: () => Date;
}

export interface Retention {
  /** One round: deletes expired records batch by batch; answers how many. Never rejects. */
  runOnce(): Promise<number>;
  /** Stops the loop and waits for a round under way. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Deletes expired records in small batches, one round per interval. With a
 * shared store one replica at a time deletes (the store takes a lock; the
 * others' rounds find nothing to do).
 */
export function startRetention(options: RetentionOptions): Retention {
  const intervalMs = options.intervalMs ?? 60_000;
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatchesPerRound ?? 200;
  const now = options.now ?? (() => new Date());
  let running: Promise<number> | undefined;
  let stopped = false;
  let failing = false;

  const round = async (): Promise<number> => {
    const before = new Date(now().getTime() - options.retentionMs);
    let total = 0;
    try {
      for (let i = 0; i < maxBatches && !stopped; i++) {
        const deleted = await options.store.deleteExpired(before, batchSize);
        total += deleted;
        if (deleted < batchSize) break;
      }
      if (failing) options.logger.info('job ledger retention works again');
      failing = false;
    } catch (err) {
      if (!failing) {
        options.logger.warn(
          { err: describe(err) },
          'job ledger retention failed; it retries next round',
        );
      }
      failing = true;
    }
    if (total > 0) options.logger.debug({ deleted: total }, 'job ledger retention');
    return total;
  };

  const runOnce = () => {
    running ??= round().finally(() => {
      running = undefined;
    });
    return running;
  };

  const timer = setInterval(() => {
    if (!stopped) void runOnce();
  }, intervalMs);
  timer.unref();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
