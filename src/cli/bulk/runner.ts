/**
 * The bulk loop: lines are read with backpressure (the next line is only
 * read while fewer than `concurrency` calls are in flight), grouped into
 * EnqueueBulk calls of at most `batchSize` jobs, and the jobs that failed
 * for a passing reason (unavailable, rate_limited, in_progress, or a
 * retryable status of the whole call) are sent again, with the same
 * idempotency key, after a backoff. Memory is bounded by concurrency ×
 * batch size, whatever the file's length.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import {
  type EnqueueRequest,
  type Init,
  type JackClient,
  JackClientError,
  RETRYABLE_CODES,
} from '../../client/index.js';
import { backoffMs, type RetryOptions, retryDelayFromMetadata, sleep } from '../../client/retry.js';
import { parseLine } from './input.js';
import type { LineSet, ResultLine, ResultWriter } from './results.js';

/** MAX_BULK_JOBS of the server (SPEC §2). */
export const MAX_BULK_JOBS = 1000;
/** Per-job reasons that pass (SPEC §2, §8, §9). */
export const RETRYABLE_REASONS: ReadonlySet<string> = new Set([
  'unavailable',
  'rate_limited',
  'in_progress',
]);

/**
 * Codes of a whole EnqueueBulk call that every other call would get too: no
 * or a bad credential, a caller who may act for no producer, a server
 * without the RPC. The run stops with that one error (exit 1, one line)
 * instead of writing a failure line for each of perhaps 100 000 jobs; the
 * lines not answered yet have no result, so `--resume` sends them.
 */
export const STOPPING_CODES: ReadonlySet<status> = new Set([
  status.UNAUTHENTICATED,
  status.PERMISSION_DENIED,
  status.UNIMPLEMENTED,
]);

export interface BulkOptions {
  client: JackClient;
  input: Readable;
  /** Identity of the input, for derived idempotency keys. */
  identity: string;
  writer: ResultWriter;
  /** Lines to skip (--resume). */
  done?: LineSet;
  batchSize: number;
  concurrency: number;
  /** Backoff of jobs that failed for a passing reason. */
  retry: RetryOptions;
  /** Deadline of one EnqueueBulk call. */
  callDeadlineMs: number;
  shadow?: boolean;
  /** Told after every line that got its result (or was skipped). */
  onProgress?: (processed: number) => void;
}

export interface BulkSummary {
  lines: number;
  enqueued: number;
  duplicates: number;
  failed: number;
  skipped: number;
  retried: number;
  elapsedMs: number;
}

interface Pending {
  index: number;
  job: Init<EnqueueRequest>;
}

export async function runBulk(options: BulkOptions): Promise<BulkSummary> {
  const started = Date.now();
  const summary: BulkSummary = {
    lines: 0,
    enqueued: 0,
    duplicates: 0,
    failed: 0,
    skipped: 0,
    retried: 0,
    elapsedMs: 0,
  };
  let processed = 0;
  const record = async (result: ResultLine) => {
    if (result.job_id) {
      summary.enqueued++;
      if (result.duplicate) summary.duplicates++;
    } else summary.failed++;
    await options.writer.write(result);
    options.onProgress?.(++processed);
  };

  const send = async (batch: Pending[]) => {
    let todo = batch;
    for (let attempt = 1; ; attempt++) {
      const again: Pending[] = [];
      let serverDelayMs: number | undefined;
      try {
        const res = await options.client.enqueueBulk(
          { jobs: todo.map((p) => p.job) },
          { retry: false, deadlineMs: options.callDeadlineMs, shadow: options.shadow },
        );
        for (const [i, pending] of todo.entries()) {
          const r = res.results[i];
          if (r?.jobId) {
            await record({
              index: pending.index,
              job_id: r.jobId,
              ...(r.duplicate ? { duplicate: true } : {}),
              ...(r.errorMessages.length > 0 ? { warnings: r.errorMessages } : {}),
            });
          } else if (
            r !== undefined &&
            RETRYABLE_REASONS.has(r.reason) &&
            attempt < options.retry.maxAttempts
          ) {
            again.push(pending);
          } else {
            await record({
              index: pending.index,
              reason: r?.reason || 'internal_error',
              error: r?.error || 'no result for this job',
            });
          }
        }
      } catch (err) {
        if (!(err instanceof JackClientError) || STOPPING_CODES.has(err.code)) throw err;
        if (RETRYABLE_CODES.has(err.code) && attempt < options.retry.maxAttempts) {
          again.push(...todo);
          serverDelayMs = retryDelayFromMetadata(err.metadata);
        } else {
          for (const pending of todo) {
            await record({ index: pending.index, reason: err.codeName, error: err.details });
          }
        }
      }
      if (again.length === 0) return;
      summary.retried += again.length;
      todo = again;
      await sleep(backoffMs(attempt, options.retry, serverDelayMs));
    }
  };

  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  const dispatch = async (batch: Pending[]) => {
    const call: Promise<void> = send(batch)
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => inflight.delete(call));
    inflight.add(call);
    while (inflight.size >= options.concurrency) await Promise.race(inflight);
  };

  let batch: Pending[] = [];
  let index = -1;
  const lines = createInterface({ input: options.input, crlfDelay: Infinity });
  for await (const line of lines) {
    index++;
    if (failure !== undefined) break;
    if (line.trim() === '') continue;
    summary.lines++;
    if (options.done?.has(index)) {
      summary.skipped++;
      options.onProgress?.(++processed);
      continue;
    }
    const parsed = parseLine(line, index, options.identity);
    if ('error' in parsed) {
      await record({ index, reason: 'invalid_line', error: parsed.error });
      continue;
    }
    batch.push({ index, job: parsed.job });
    if (batch.length >= options.batchSize) {
      await dispatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0 && failure === undefined) await dispatch(batch);
  await Promise.all(inflight);
  if (failure !== undefined) throw failure;
  summary.elapsedMs = Date.now() - started;
  return summary;
}
