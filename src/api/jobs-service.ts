/**
 * jack.Jobs (SPEC §14): reading the job ledger and receiving workers'
 * reports. Validation lives here; the report rules live in the store
 * (src/ledger/rules.ts); who may call what is decided before this code runs
 * (the auth interceptor, src/identity/principals.ts).
 */
import { createHash } from 'node:crypto';
import { decodePageToken, encodePageToken, MAX_PAGE_SIZE } from '../admin/page-token.js';
import type { CallContext } from '../context.js';
import { JackError } from '../errors.js';
import { type Job, JobState, type JobsService } from '../gen/jack/jobs.js';
import { Queue } from '../gen/jack/storage.js';
import { decodeJobId, isJobOfProducer } from '../jobid/job-id.js';
import { maxAttributeBytes, required } from '../jobs/validate.js';
import type { JobReport, LedgerStore, ListJobsQuery } from '../ledger/ledger.js';
import {
  asSeenWithExternalScheduler,
  cutUtf8,
  isTerminal,
  LAST_ERROR_MAX_BYTES,
  REPORTABLE_STATES,
} from '../ledger/rules.js';
import type { ResponseStream, ServiceHandlers } from './pipeline.js';

/** ListJobs page_size when none is given (SPEC §14). */
export const DEFAULT_JOBS_PAGE_SIZE = 50;

const KNOWN_STATES: ReadonlySet<number> = new Set(
  Object.values(JobState).filter((v): v is number => typeof v === 'number' && v > 0),
);
const KNOWN_QUEUES: ReadonlySet<number> = new Set(
  Object.values(Queue).filter((v): v is number => typeof v === 'number' && v >= 0),
);

export interface JobsServiceDeps {
  /** undefined: JOB_LEDGER=off, every call answers FAILED_PRECONDITION. */
  ledger: LedgerStore | undefined;
  /** MAX_WATCHES_PER_CONNECTION */
  maxWatchesPerConnection: number;
  /**
   * True when future jobs are held by a scheduler Jack does not see (Cloud
   * Tasks): a SCHEDULED record whose run_at passed then reads as QUEUED.
   */
  externalScheduler: boolean;
  now?: () => Date;
}

export interface JobsServiceHandle {
  handlers: ServiceHandlers<typeof JobsService>;
  /** Ends every open WatchJob with UNAVAILABLE (shutdown): the client watches again elsewhere. */
  endWatches(): void;
  /** Open WatchJob streams (tests). */
  readonly openWatches: number;
}

function stateName(state: number): string {
  return JobState[state] ?? String(state);
}

/** A well-formed job id, or INVALID_ARGUMENT naming job_id. */
function checkedJobId(jobId: string) {
  required('job_id', jobId);
  maxAttributeBytes('job_id', jobId);
  return decodeJobId(jobId);
}

/** The filters of a ListJobs request, hashed: a page token is only valid for the same filters. */
function listScope(query: Omit<ListJobsQuery, 'limit' | 'after'>): string {
  const filters = JSON.stringify([
    query.producerId ?? null,
    query.jobType ?? null,
    [...query.states].sort(),
    query.createdAfter?.getTime() ?? null,
    query.createdBefore?.getTime() ?? null,
    query.includeShadow,
  ]);
  return `jobs:${createHash('sha256').update(filters).digest('base64url').slice(0, 16)}`;
}

function sameVersion(a: Job, b: Job): boolean {
  return (
    a.state === b.state &&
    a.attempts === b.attempts &&
    a.updatedAt?.getTime() === b.updatedAt?.getTime() &&
    a.worker === b.worker &&
    a.lastError === b.lastError
  );
}

export function createJobsService(deps: JobsServiceDeps): JobsServiceHandle {
  const now = deps.now ?? (() => new Date());
  const asRead = deps.externalScheduler
    ? asSeenWithExternalScheduler
    : (job: Job, _at: Date): Job => job;
  const perConnection = new Map<string, number>();
  const openWatches = new Set<(reason: JackError) => void>();

  const ledgerOf = (): LedgerStore => {
    if (deps.ledger === undefined) {
      throw new JackError('failed_precondition', 'job ledger is off');
    }
    return deps.ledger;
  };

  const watch = async (jobId: string, ctx: CallContext, stream: ResponseStream<Job>) => {
    const ledger = ledgerOf();
    checkedJobId(jobId);
    const open = perConnection.get(stream.connection) ?? 0;
    if (open >= deps.maxWatchesPerConnection) {
      throw new JackError(
        'resource_exhausted',
        `at most ${deps.maxWatchesPerConnection} open WatchJob streams per connection (MAX_WATCHES_PER_CONNECTION)`,
      );
    }
    perConnection.set(stream.connection, open + 1);
    let unsubscribe: (() => void) | undefined;
    let settle: ((err?: JackError) => void) | undefined;
    const done = new Promise<void>((resolve, reject) => {
      settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    const finish = (err?: JackError) => settle?.(err);
    openWatches.add(finish);
    try {
      let last: Job | undefined;
      let fetching = false;
      let again = false;
      /** One read at a time, so changes are sent in order; a change during a read reads again. */
      const refresh = async (): Promise<void> => {
        if (fetching) {
          again = true;
          return;
        }
        fetching = true;
        try {
          do {
            again = false;
            const record = await ledger.get(jobId);
            if (record === undefined) {
              // Deleted by retention while watched: the job is gone.
              if (last === undefined) finish(new JackError('not_found', `job ${jobId} not found`));
              else finish(new JackError('not_found', `job ${jobId} expired from the ledger`));
              return;
            }
            const shown = asRead(record, now());
            if (last === undefined || !sameVersion(last, shown)) {
              last = shown;
              stream.send(shown);
            }
            if (isTerminal(shown.state)) {
              finish();
              return;
            }
          } while (again);
        } catch (err) {
          finish(
            new JackError('unavailable', 'the job ledger cannot be read now; watch again', {
              cause: err,
            }),
          );
        } finally {
          fetching = false;
        }
      };
      // Subscribe first: a change between the first read and the
      // subscription would otherwise be missed.
      unsubscribe = ledger.onChange((changed) => {
        if (changed === jobId) void refresh();
      });
      if (ctx.cancelled) return;
      ctx.signal.addEventListener('abort', () => finish(), { once: true });
      await refresh();
      await done;
    } finally {
      unsubscribe?.();
      openWatches.delete(finish);
      const left = (perConnection.get(stream.connection) ?? 1) - 1;
      if (left <= 0) perConnection.delete(stream.connection);
      else perConnection.set(stream.connection, left);
    }
  };

  const handlers: ServiceHandlers<typeof JobsService> = {
    async getJob(request) {
      const ledger = ledgerOf();
      checkedJobId(request.jobId);
      const job = await ledger.get(request.jobId);
      if (job === undefined) {
        throw new JackError('not_found', `job ${request.jobId} not found (unknown, or expired)`);
      }
      return asRead(job, now());
    },

    async listJobs(request) {
      const ledger = ledgerOf();
      if (request.pageSize < 0) {
        throw new JackError('invalid_argument', 'page_size must not be negative');
      }
      maxAttributeBytes('producer_id', request.producerId);
      maxAttributeBytes('job_type', request.jobType);
      request.states.forEach((state, i) => {
        if (!KNOWN_STATES.has(state)) {
          throw new JackError('invalid_argument', `states[${i}] is not a known JobState`);
        }
      });
      const filters = {
        producerId: request.producerId === '' ? undefined : request.producerId,
        jobType: request.jobType === '' ? undefined : request.jobType,
        states: [...new Set(request.states)],
        createdAfter: request.createdAfter,
        createdBefore: request.createdBefore,
        includeShadow: request.includeShadow,
      };
      const scope = listScope(filters);
      let after: ListJobsQuery['after'];
      if (request.pageToken !== '') {
        const [ms, jobId] = decodePageToken(request.pageToken, scope);
        after = { createdAt: new Date(ms), jobId };
      }
      const limit =
        request.pageSize === 0 ? DEFAULT_JOBS_PAGE_SIZE : Math.min(request.pageSize, MAX_PAGE_SIZE);
      const page = await ledger.list({ ...filters, limit, after });
      const at = now();
      return {
        jobs: page.jobs.map((job) => asRead(job, at)),
        nextPageToken:
          page.next === undefined
            ? ''
            : encodePageToken(scope, [page.next.createdAt.getTime(), page.next.jobId]),
      };
    },

    watchJob(request, ctx, stream) {
      return watch(request.jobId, ctx, stream);
    },

    async reportJobStatus(request, ctx) {
      const ledger = ledgerOf();
      const decoded = checkedJobId(request.jobId);
      required('producer_id', request.producerId);
      maxAttributeBytes('producer_id', request.producerId);
      if (!isJobOfProducer(decoded, request.producerId)) {
        throw new JackError(
          'invalid_argument',
          `job_id ${request.jobId} does not belong to producer_id ${request.producerId}`,
        );
      }
      maxAttributeBytes('job_type', request.jobType);
      maxAttributeBytes('worker', request.worker);
      if (!REPORTABLE_STATES.has(request.state)) {
        throw new JackError(
          'invalid_argument',
          `state must be JOB_STATE_RUNNING, JOB_STATE_SUCCEEDED, JOB_STATE_FAILED or JOB_STATE_DEAD, not ${stateName(request.state)}`,
        );
      }
      if (!(request.attempt >= 1)) {
        throw new JackError(
          'invalid_argument',
          `attempt must be at least 1, not ${request.attempt}`,
        );
      }
      if (!KNOWN_QUEUES.has(request.queue)) {
        throw new JackError('invalid_argument', `queue ${request.queue} is not a known Queue`);
      }
      const report: JobReport = {
        jobId: request.jobId,
        producerId: request.producerId,
        jobType: request.jobType,
        state: request.state,
        attempt: request.attempt,
        // Cut, not refused: a worker's stack trace must not lose its report.
        error: cutUtf8(request.error, LAST_ERROR_MAX_BYTES),
        worker: request.worker !== '' ? request.worker : (ctx.principal?.id ?? ''),
        queue: request.queue,
      };
      const job = await ledger.report(report, now());
      return { job: asRead(job, now()) };
    },
  };

  return {
    handlers,
    endWatches() {
      for (const finish of [...openWatches]) {
        finish(new JackError('unavailable', 'Jack is shutting down: watch again'));
      }
    },
    get openWatches() {
      return openWatches.size;
    },
  };
}
