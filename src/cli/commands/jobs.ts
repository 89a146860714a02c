/** `jack jobs get|list|watch`: a job's record in the ledger (jack.Jobs, SPEC §14). */
import { Command, InvalidArgumentError } from 'commander';
import { type Job, JobState, TERMINAL_JOB_STATES } from '../../client/index.js';
import { parseDurationMs } from '../../config/parser.js';
import { Job as JobCodec } from '../../gen/jack/jobs.js';
import { Queue } from '../../gen/jack/storage.js';
import {
  CliError,
  positiveInteger,
  print,
  record,
  table,
  timestamp,
  withClient,
} from '../context.js';

/** `JOB_STATE_SUCCEEDED` → `succeeded`. */
export function stateName(state: JobState): string {
  return (JobState[state] ?? String(state)).replace(/^JOB_STATE_/, '').toLowerCase();
}

function queueName(queue: Queue): string {
  return (Queue[queue] ?? String(queue)).replace(/^QUEUE_/, '').toLowerCase();
}

/** `running,succeeded` (any case, with or without JOB_STATE_) → states. */
export function parseStates(text: string): JobState[] {
  return text.split(',').map((part) => {
    const name = `JOB_STATE_${part
      .trim()
      .toUpperCase()
      .replace(/^JOB_STATE_/, '')}`;
    const state = (JobState as unknown as Record<string, number>)[name];
    if (state === undefined || state <= 0) {
      throw new InvalidArgumentError(
        `unknown state "${part.trim()}" (scheduled, queued, running, succeeded, failed, dead, cancelled)`,
      );
    }
    return state as JobState;
  });
}

function parseSince(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('not a duration (e.g. 30m, 2h)');
  return ms;
}

/** The two-column view of one record. */
export function jobRecord(job: Job): string {
  const rows: [string, string][] = [
    ['job_id', job.jobId],
    ['state', stateName(job.state)],
    ['producer_id', job.producerId],
    ['job_type', job.jobType],
    ['queue', queueName(job.queue)],
    ['attempts', String(job.attempts)],
    ['created_at', timestamp(job.createdAt)],
    ['updated_at', timestamp(job.updatedAt)],
  ];
  if (job.runAt) rows.push(['run_at', timestamp(job.runAt)]);
  if (job.startedAt) rows.push(['started_at', timestamp(job.startedAt)]);
  if (job.finishedAt) rows.push(['finished_at', timestamp(job.finishedAt)]);
  if (job.worker) rows.push(['worker', job.worker]);
  if (job.lastError) rows.push(['last_error', job.lastError]);
  if (job.shadow) rows.push(['shadow', 'true']);
  return record(rows);
}

/** One line per version of a watched record. */
function watchLine(job: Job): string {
  const parts = [
    timestamp(job.updatedAt),
    stateName(job.state),
    `attempt ${job.attempts}`,
    job.worker ? `worker ${job.worker}` : '',
    job.lastError ? `error: ${job.lastError.replace(/\s+/g, ' ')}` : '',
  ];
  return parts.filter((p) => p !== '').join('  ');
}

interface ListOptions {
  producer?: string;
  type?: string;
  state?: JobState[];
  since?: number;
  limit: number;
  includeShadow?: boolean;
}

export function jobsCommand(): Command {
  const jobs = new Command('jobs').description("read jobs' records in the job ledger");

  jobs
    .command('get')
    .description("print a job's record")
    .argument('<job-id>', 'job id (pjob_…)')
    .action(async (jobId: string, _opts: unknown, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        const job = await client.getJob({ jobId });
        print(options, JobCodec.toJSON(job), () => jobRecord(job));
      }),
    );

  jobs
    .command('list')
    .description('list jobs, newest first')
    .option('--producer <id>', "only this producer's jobs (required for a producer's key)")
    .option('--type <name>', 'only jobs of this type')
    .option('--state <states>', 'only jobs in these states, comma-separated', parseStates)
    .option(
      '--since <duration>',
      'only jobs created within this duration (e.g. 30m, 2h)',
      parseSince,
    )
    .option('--limit <n>', 'at most this many jobs', positiveInteger, 50)
    .option('--include-shadow', 'include shadow jobs')
    .action(async (opts: ListOptions, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        const found: Job[] = [];
        const pageSize = Math.min(opts.limit, 1000);
        for await (const job of client.listJobs({
          producerId: opts.producer ?? '',
          jobType: opts.type ?? '',
          states: opts.state ?? [],
          createdAfter: opts.since === undefined ? undefined : new Date(Date.now() - opts.since),
          includeShadow: opts.includeShadow === true,
          pageSize,
        })) {
          found.push(job);
          if (found.length >= opts.limit) break;
        }
        print(options, { jobs: found.map((j) => JobCodec.toJSON(j)) }, () =>
          table(
            ['job_id', 'state', 'producer_id', 'job_type', 'attempts', 'created_at'],
            found.map((j) => [
              j.jobId,
              stateName(j.state),
              j.producerId,
              j.jobType,
              String(j.attempts),
              timestamp(j.createdAt),
            ]),
          ),
        );
      }),
    );

  jobs
    .command('watch')
    .description("print a job's record, then each change, until it ends; exit 0 only on succeeded")
    .argument('<job-id>', 'job id (pjob_…)')
    .action(async (jobId: string, _opts: unknown, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        let last: Job | undefined;
        for await (const job of client.watchJob(jobId)) {
          last = job;
          // One JSON document per line with --json: the stream is read as it comes.
          process.stdout.write(
            options.json ? `${JSON.stringify(JobCodec.toJSON(job))}\n` : `${watchLine(job)}\n`,
          );
        }
        failUnlessSucceeded(last, jobId);
      }),
    );

  return jobs;
}

/** Exit status of `watch` and `enqueue --wait`: 0 only when the job SUCCEEDED. */
export function failUnlessSucceeded(job: Job | undefined, jobId: string): void {
  if (job === undefined || !TERMINAL_JOB_STATES.has(job.state)) {
    throw new CliError(`job ${jobId}: the watch ended before the job did`, 'unavailable');
  }
  if (job.state !== JobState.JOB_STATE_SUCCEEDED) {
    const why = job.lastError ? `: ${job.lastError}` : '';
    throw new CliError(`job ${jobId} ended ${stateName(job.state)}${why}`, stateName(job.state));
  }
}
