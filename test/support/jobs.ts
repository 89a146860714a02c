/** Helpers for jack.Jobs tests: job ids of a producer, reports, watch streams with a bound. */
import { Client, type ClientReadableStream, credentials, Metadata, status } from '@grpc/grpc-js';
import {
  type Job,
  JobState,
  type JobsClient,
  ReportJobStatusRequest,
} from '../../src/gen/jack/jobs.js';
import { Queue } from '../../src/gen/jack/storage.js';
import { createJobIdGenerator } from '../../src/jobid/job-id.js';
import type { LedgerStore } from '../../src/ledger/ledger.js';

const ids = createJobIdGenerator();

/** A well-formed id of a job of this producer and type, as Jack would issue it. */
export function jobIdOf(producerId: string, jobType = 'resize', createdAtMs = Date.now()): string {
  return ids.next(producerId, jobType, createdAtMs);
}

/** A ReportJobStatusRequest with sensible defaults (RUNNING, attempt 1). */
export function report(fields: Partial<ReportJobStatusRequest>): ReportJobStatusRequest {
  return {
    jobId: '',
    producerId: '',
    jobType: 'resize',
    state: JobState.JOB_STATE_RUNNING,
    attempt: 1,
    error: '',
    worker: 'worker-1',
    queue: Queue.QUEUE_MEDIUM,
    ...fields,
  };
}

export interface WatchOutcome {
  jobs: Job[];
  code: number;
  details: string;
}

/** An open WatchJob: the records seen so far and how it ended. */
export interface OpenWatch {
  readonly jobs: Job[];
  /** Resolves when the stream ends (OK or an error); rejects after `boundMs`. */
  ended(boundMs?: number): Promise<WatchOutcome>;
  /** Resolves once `count` records arrived; rejects after `boundMs`. */
  received(count: number, boundMs?: number): Promise<Job[]>;
  cancel(): void;
}

export function openWatch(
  client: JobsClient,
  jobId: string,
  metadata: Record<string, string> = {},
): OpenWatch {
  const md = new Metadata();
  for (const [key, value] of Object.entries(metadata)) md.set(key, value);
  const stream: ClientReadableStream<Job> = client.watchJob({ jobId }, md, {
    deadline: Date.now() + 30_000,
  });
  const jobs: Job[] = [];
  const waiters = new Set<() => void>();
  let outcome: WatchOutcome | undefined;
  stream.on('data', (job: Job) => {
    jobs.push(job);
    for (const w of [...waiters]) w();
  });
  stream.on('error', (err: { code: number; details: string }) => {
    outcome ??= { jobs, code: err.code, details: err.details };
    for (const w of [...waiters]) w();
  });
  stream.on('status', (s: { code: number; details: string }) => {
    if (s.code === status.OK) outcome ??= { jobs, code: s.code, details: s.details };
    for (const w of [...waiters]) w();
  });
  const until = <T>(ready: () => T | undefined, what: string, boundMs: number) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = ready();
        if (value === undefined) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(value);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`WatchJob ${what}: not within ${boundMs} ms (got ${jobs.length})`));
      }, boundMs);
      waiters.add(check);
      check();
    });
  return {
    jobs,
    ended: (boundMs = 5_000) => until(() => outcome, 'end', boundMs),
    received: (count, boundMs = 5_000) =>
      until(
        () => (jobs.length >= count ? jobs.slice(0, count) : undefined),
        `${count} records`,
        boundMs,
      ),
    cancel: () => stream.cancel(),
  };
}

/** A client whose serializer passes bytes through: for requests no generated client can send. */
export function rawClient(address: string): {
  invoke(path: string, bytes: Buffer): Promise<{ code: number; details: string }>;
  close(): void;
} {
  const client = new Client(address, credentials.createInsecure());
  return {
    invoke: (path, bytes) =>
      new Promise((resolve) => {
        client.makeUnaryRequest(
          path,
          (b: Buffer) => b,
          (b: Buffer) => b,
          bytes,
          { deadline: Date.now() + 10_000 },
          (err) => resolve({ code: err?.code ?? status.OK, details: err?.details ?? '' }),
        );
      }),
    close: () => client.close(),
  };
}

export const encodeReport = (request: ReportJobStatusRequest): Buffer =>
  Buffer.from(ReportJobStatusRequest.encode(request).finish());

/**
 * Plays a worker: every job of the given producers that appears QUEUED in
 * `ledger` is handed to `run` once. It polls (every 20 ms) rather than
 * listening, since a new record is no change that onChange announces.
 * Returns the stop function.
 */
export function runQueuedJobs(
  ledger: LedgerStore,
  producers: readonly string[],
  run: (job: Job) => Promise<void>,
): () => void {
  const seen = new Set<string>();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      for (const producerId of producers) {
        const page = await ledger.list({
          producerId,
          jobType: undefined,
          states: [JobState.JOB_STATE_QUEUED],
          createdAfter: undefined,
          createdBefore: undefined,
          includeShadow: true,
          limit: 100,
          after: undefined,
        });
        for (const job of page.jobs) {
          if (seen.has(job.jobId)) continue;
          seen.add(job.jobId);
          void run(job);
        }
      }
    })().finally(() => {
      busy = false;
    });
  }, 20);
  return () => clearInterval(timer);
}
