/** jack.BackgroundJobs: the gRPC face of the enqueuer and the scheduler. */
import { JackError } from '../errors.js';
import type { BackgroundJobsService, EnqueueRequest } from '../gen/jack/jack.js';
import { decodeJobId, isJobOfProducer } from '../jobid/job-id.js';
import type { EnqueueInput, Enqueuer } from '../jobs/types.js';
import { required } from '../jobs/validate.js';
import type { Metrics } from '../metrics.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { ServiceHandlers } from './pipeline.js';

export interface JobServiceDeps {
  enqueuer: Enqueuer;
  scheduler: Scheduler | undefined;
  maxBulkJobs: number;
  metrics: Metrics;
  /**
   * Marks a cancelled job CANCELLED in the job ledger (SPEC §14). Never
   * rejects: the scheduler's cancel is the truth, the ledger its record.
   */
  recordCancelled?: (jobId: string) => Promise<void>;
}

/** A decoded request already has the enqueuer's input shape: no per-call copy. */
const asInput = (request: EnqueueRequest): EnqueueInput => request;

export function createJobService(
  deps: JobServiceDeps,
): ServiceHandlers<typeof BackgroundJobsService> {
  const { enqueuer, scheduler, maxBulkJobs, metrics, recordCancelled } = deps;
  return {
    // Not async: one promise callback instead of an async frame and its await (hot path).
    enqueue(request, ctx) {
      return enqueuer.enqueue(asInput(request), ctx).then(({ jobId, warnings, duplicate }) => ({
        jobId,
        errorMessages: warnings,
        correlationId: request.correlationId,
        duplicate: duplicate === true,
      }));
    },

    async enqueueBulk(request, ctx) {
      const jobs = request.jobs;
      if (jobs.length === 0)
        throw new JackError('invalid_argument', 'jobs is empty: send at least one job');
      if (jobs.length > maxBulkJobs) {
        throw new JackError(
          'invalid_argument',
          `too many jobs: ${jobs.length}, the limit is ${maxBulkJobs} (MAX_BULK_JOBS)`,
        );
      }
      metrics.bulkSize(jobs.length);
      const outcomes = await enqueuer.enqueueMany(jobs, ctx);
      return {
        results: outcomes.map((outcome, index) => ({
          index,
          jobId: outcome.error === undefined ? outcome.jobId : '',
          error: outcome.error?.message ?? '',
          errorMessages: outcome.warnings,
          correlationId: jobs[index]?.correlationId ?? '',
          reason: outcome.error?.reason ?? '',
          duplicate: outcome.duplicate === true,
        })),
      };
    },

    async cancelJob(request) {
      required('producer_id', request.producerId);
      required('job_id', request.jobId);
      const decoded = decodeJobId(request.jobId);
      if (!isJobOfProducer(decoded, request.producerId)) {
        throw new JackError(
          'invalid_argument',
          `job_id ${request.jobId} does not belong to producer ${request.producerId}`,
        );
      }
      if (scheduler === undefined) {
        throw new JackError(
          'failed_precondition',
          'no scheduler is configured (SCHEDULER=ledger or CLOUD_TASKS_*): jobs are published at once and cannot be cancelled',
        );
      }
      await scheduler.cancel(request.jobId);
      await recordCancelled?.(request.jobId);
      return {};
    },
  };
}
