/**
 * The per-replica ledger (`JOB_LEDGER=memory`, the default): records in a
 * Map kept in insertion order, at most `maxJobs` of them — the oldest go
 * first — and lost at exit. Change listeners are in process only: another
 * replica never hears of this one's records.
 */
import { type Metrics, noopMetrics } from '../metrics.js';
import {
  type Job,
  type JobReport,
  JobState,
  type LedgerStore,
  type ListCursor,
  type ListJobsPage,
  type ListJobsQuery,
} from './ledger.js';
import {
  applyAccepted,
  applyCancel,
  applyPublished,
  applyReport,
  observeTransition,
} from './rules.js';

export interface MemoryLedgerOptions {
  /** LEDGER_MAX_JOBS: beyond it the oldest record is forgotten. */
  maxJobs: number;
  /** Transitions and pickup latency are counted here (default: none). */
  metrics?: Metrics;
}

/** Newest first: created_at descending, then job_id descending. */
export function compareNewestFirst(a: ListCursor, b: ListCursor): number {
  const byTime = b.createdAt.getTime() - a.createdAt.getTime();
  if (byTime !== 0) return byTime;
  return a.jobId < b.jobId ? 1 : a.jobId > b.jobId ? -1 : 0;
}

function cursorOf(job: Job): ListCursor {
  return { createdAt: job.createdAt ?? new Date(0), jobId: job.jobId };
}

function matches(job: Job, query: ListJobsQuery): boolean {
  if (query.producerId !== undefined && job.producerId !== query.producerId) return false;
  if (query.jobType !== undefined && job.jobType !== query.jobType) return false;
  if (query.states.length > 0 && !query.states.includes(job.state)) return false;
  if (!query.includeShadow && job.shadow) return false;
  const created = job.createdAt?.getTime() ?? 0;
  if (query.createdAfter !== undefined && created <= query.createdAfter.getTime()) return false;
  if (query.createdBefore !== undefined && created >= query.createdBefore.getTime()) return false;
  if (query.after !== undefined && compareNewestFirst(query.after, cursorOf(job)) >= 0) {
    return false;
  }
  return true;
}

/**
 * Retention: last changed before `before` — except a SCHEDULED job whose
 * run_at is still ahead of it (it waits, however far ahead).
 */
function expired(job: Job, before: Date): boolean {
  if ((job.updatedAt?.getTime() ?? 0) >= before.getTime()) return false;
  const waiting =
    job.state === JobState.JOB_STATE_SCHEDULED &&
    job.runAt !== undefined &&
    job.runAt.getTime() >= before.getTime();
  return !waiting;
}

export function createMemoryLedgerStore(options: MemoryLedgerOptions): LedgerStore {
  if (!Number.isInteger(options.maxJobs) || options.maxJobs < 1) {
    throw new RangeError(`maxJobs must be a positive integer, not ${options.maxJobs}`);
  }
  const metrics = options.metrics ?? noopMetrics;
  /** Insertion order = age: the first key is the oldest record. */
  const records = new Map<string, Job>();
  const listeners = new Set<(jobId: string) => void>();

  const notify = (jobId: string) => {
    if (listeners.size === 0) return;
    for (const listener of [...listeners]) {
      try {
        listener(jobId);
      } catch {
        // A listener's failure is its own; the others still hear of the change.
      }
    }
  };

  /**
   * The oldest record's place, kept between evictions. A fresh
   * `records.keys()` starts at the table's first slot and walks over every
   * slot a deletion left empty until the table is next rebuilt — up to the
   * table's capacity per eviction, which cost more than the rest of an
   * Enqueue. This iterator never walks back (everything before it is
   * evicted), so each eviction costs O(1) on average.
   */
  let oldestFirst = records.keys();
  const evictOldest = () => {
    let next = oldestFirst.next();
    if (next.done === true) {
      // Ran out once (only on an empty table): start again at the front.
      oldestFirst = records.keys();
      next = oldestFirst.next();
      if (next.done === true) return;
    }
    records.delete(next.value);
  };

  const put = (before: Job | undefined, record: Job, at: Date) => {
    records.set(record.jobId, record);
    while (records.size > options.maxJobs) evictOldest();
    observeTransition(metrics, before, record, at);
    notify(record.jobId);
  };

  const copy = (job: Job | undefined): Job | undefined => (job === undefined ? job : { ...job });

  return {
    kind: 'memory',
    shared: false,

    async recordAccepted(jobs) {
      for (const job of jobs) {
        const before = records.get(job.jobId);
        const outcome = applyAccepted(before, job);
        if (!outcome.changed) continue;
        if (before === undefined) put(undefined, outcome.record, job.createdAt);
        else {
          // Filling in a record created from a report is no transition.
          records.set(job.jobId, outcome.record);
          notify(job.jobId);
        }
      }
    },

    async recordPublished(published, at) {
      for (const { jobId, messageId } of published) {
        const before = records.get(jobId);
        const outcome = applyPublished(before, messageId, at);
        if (outcome?.changed === true) put(before, outcome.record, at);
      }
    },

    async cancel(jobId, at) {
      const before = records.get(jobId);
      const outcome = applyCancel(before, at);
      if (outcome === undefined) return undefined;
      if (outcome.changed) put(before, outcome.record, at);
      return copy(outcome.record);
    },

    async report(report: JobReport, at: Date) {
      const before = records.get(report.jobId);
      const outcome = applyReport(before, report, at);
      if (outcome.changed) put(before, outcome.record, at);
      return { ...outcome.record };
    },

    async get(jobId) {
      return copy(records.get(jobId));
    },

    async list(query): Promise<ListJobsPage> {
      const found: Job[] = [];
      for (const job of records.values()) if (matches(job, query)) found.push(job);
      found.sort((a, b) => compareNewestFirst(cursorOf(a), cursorOf(b)));
      const page = found.slice(0, query.limit).map((job) => ({ ...job }));
      const last = page.at(-1);
      return {
        jobs: page,
        next: found.length > query.limit && last !== undefined ? cursorOf(last) : undefined,
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
      let deleted = 0;
      for (const [jobId, job] of records) {
        if (deleted >= batchSize) break;
        if (expired(job, before)) {
          records.delete(jobId);
          deleted += 1;
        }
      }
      return deleted;
    },

    async ping() {},

    async close() {
      listeners.clear();
    },
  };
}
