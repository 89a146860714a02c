/**
 * Cloud Tasks scheduler (SPEC §3): one HTTP task per future job whose request,
 * when the task fires, publishes the finished message straight to the topic
 * (the publish target's request, e.g. Pub/Sub's REST `:publish`) with an OAuth
 * token of the configured service account. Jack is not involved at fire time.
 *
 * The task id is derived from the job id alone, so a retried create is
 * recognised (`ALREADY_EXISTS` = the job is already scheduled) and CancelJob
 * finds the task again from the job id.
 */
import { createHash } from 'node:crypto';
import { CloudTasksClient, protos } from '@google-cloud/tasks';
// Client-side only: credentials for a plaintext test endpoint and the status
// codes Google's client errors carry. Jack's own statuses stay in api/status.ts.
import { credentials, status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { SchedulerConfig } from '../config/index.js';
import { JackError, toError } from '../errors.js';
import { requireGoogleCredentials } from '../google-credentials.js';
import type { PublishTarget } from './publish-target.js';
import type { Scheduler } from './scheduler.js';

export type CloudTasksConfig = Extract<SchedulerConfig, { kind: 'cloud-tasks' }>;

export interface CloudTasksSchedulerOptions {
  config: CloudTasksConfig;
  /** The request a fired task sends to publish its job. */
  target: PublishTarget;
  /**
   * Budget of every call on Cloud Tasks, retries included: the backend's
   * publish timeout, so a scheduled Enqueue answers as quickly as an
   * immediate one (SPEC §2.6).
   */
  timeoutMs: number;
  logger: Logger;
}

/**
 * Largest task Cloud Tasks accepts: "Maximum task size: 1 MB" (Cloud Tasks
 * quotas and limits). Read as decimal megabytes, like Pub/Sub's 10 MB, so
 * that Jack never sends a task the service might refuse.
 */
export const CLOUD_TASKS_MAX_TASK_BYTES = 1_000_000;
/** How far ahead Cloud Tasks accepts a schedule_time: 30 days from now. */
export const CLOUD_TASKS_MAX_SCHEDULE_AHEAD_MS = 30 * 24 * 60 * 60 * 1000;
/**
 * Cloud Tasks task ids: letters, digits, hyphens and underscores, at most
 * 500 characters. The job id part may use 500 minus the hash and its hyphen.
 */
const TASK_ID_HASH_CHARS = 8;
const JOB_ID_IN_TASK_ID = new RegExp(`^[A-Za-z0-9_-]{1,${500 - TASK_ID_HASH_CHARS - 1}}$`);
/** Backoff between attempts after a transient failure, ms (doubles, capped). */
const FIRST_RETRY_DELAY_MS = 50;
const MAX_RETRY_DELAY_MS = 1_000;

const Task = protos.google.cloud.tasks.v2.Task;
type TaskInit = protos.google.cloud.tasks.v2.ITask;

/**
 * Task id of a job: 8 hex digits of SHA-256(job id), a hyphen, the job id.
 * Job ids start with their creation time; the hash in front spreads tasks
 * over Cloud Tasks' key space, which serves sequential names poorly.
 * @throws JackError invalid_argument when the id cannot be part of a task id.
 */
export function taskIdOfJob(jobId: string): string {
  if (!JOB_ID_IN_TASK_ID.test(jobId)) {
    throw new JackError('invalid_argument', `job_id ${JSON.stringify(jobId)} is not a job id`);
  }
  const hash = createHash('sha256').update(jobId, 'utf8').digest('hex');
  return `${hash.slice(0, TASK_ID_HASH_CHARS)}-${jobId}`;
}

/** Google client errors carry a numeric gRPC code; anything else has none. */
function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Worth another attempt: the request may not have reached Cloud Tasks, or it did not answer. */
function isTransient(err: unknown): boolean {
  const code = grpcCode(err);
  return code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED;
}

/** A Cloud Tasks client error → JackError (SPEC: transport failures → unavailable). */
function toJackError(err: unknown, what: string, forOperator = false): JackError {
  const code = grpcCode(err);
  // SPEC §6: a client gets `what` (Jack's words); the library's text, which
  // may name the queue, stays in the cause for the log line. Health checks
  // answer the operator only, so they keep it in the message.
  const message = forOperator ? `${what}: ${toError(err).message}` : what;
  switch (code) {
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.RESOURCE_EXHAUSTED:
    case GrpcStatus.ABORTED:
    case GrpcStatus.CANCELLED:
      return new JackError('unavailable', message, { cause: err });
    case GrpcStatus.INVALID_ARGUMENT:
      return new JackError('invalid_argument', message, { cause: err });
    default:
      return new JackError('internal', message, { cause: err });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** host:port → the client's apiEndpoint and port. */
function splitHostPort(hostPort: string): { apiEndpoint: string; port: number } {
  const colon = hostPort.lastIndexOf(':');
  const port = Number(hostPort.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new JackError(
      'failed_precondition',
      `CLOUD_TASKS_ENDPOINT=${JSON.stringify(hostPort)} is not host:port`,
    );
  }
  return { apiEndpoint: hostPort.slice(0, colon).replace(/^\[|\]$/g, ''), port };
}

/**
 * Creates the scheduler. Against Google, it first makes sure there are
 * credentials (one startup line otherwise). Nothing is sent until the first
 * call: reachability is the health monitor's business (`check`).
 */
export async function createCloudTasksScheduler(
  options: CloudTasksSchedulerOptions,
): Promise<Scheduler> {
  const { config, target, timeoutMs, logger } = options;
  const client =
    config.apiEndpoint === undefined
      ? new CloudTasksClient()
      : new CloudTasksClient({
          ...splitHostPort(config.apiEndpoint),
          sslCreds: credentials.createInsecure(),
          // Stated, so the client does not look for Google credentials (and
          // the GCE metadata server) just to learn it.
          universeDomain: 'googleapis.com',
        });
  if (config.apiEndpoint === undefined) {
    await requireGoogleCredentials(
      client.auth,
      'the Cloud Tasks scheduler (CLOUD_TASKS_PROJECT, CLOUD_TASKS_LOCATION, CLOUD_TASKS_QUEUE)',
    );
  }
  const queueName = client.queuePath(config.project, config.location, config.queue);
  const taskName = (jobId: string) =>
    client.taskPath(config.project, config.location, config.queue, taskIdOfJob(jobId));
  // Our own retries (below) replace the client's: they know which outcomes
  // of a repeated attempt mean success.
  const callOptions = (remainingMs: number) => ({ timeout: remainingMs, retry: null });

  /**
   * Runs `attempt` until it succeeds, fails for good, or the budget is spent.
   * `retried` tells the attempt that an earlier one may have taken effect.
   */
  const withRetries = async <T>(
    attempt: (remainingMs: number, retried: boolean) => Promise<T>,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    let delay = FIRST_RETRY_DELAY_MS;
    for (let retried = false; ; retried = true) {
      try {
        return await attempt(Math.max(1, deadline - Date.now()), retried);
      } catch (err) {
        if (!isTransient(err) || Date.now() + delay >= deadline) throw err;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
    }
  };

  logger.info(
    {
      queue: queueName,
      publishVia: target.kind,
      serviceAccount: config.serviceAccount,
    },
    'future jobs are scheduled as Cloud Tasks',
  );

  let permissionWarned = false;
  let closed: Promise<void> | undefined;

  return {
    kind: 'cloud-tasks',

    async schedule(message, runAt) {
      const aheadMs = runAt.getTime() - Date.now();
      if (aheadMs > CLOUD_TASKS_MAX_SCHEDULE_AHEAD_MS) {
        throw new JackError(
          'invalid_argument',
          `run_at ${runAt.toISOString()} is more than 30 days ahead, the Cloud Tasks limit for scheduling a job`,
          { reason: 'validation_error' },
        );
      }
      const name = taskName(message.jobId);
      const task: TaskInit = {
        name,
        scheduleTime: {
          seconds: Math.floor(runAt.getTime() / 1000),
          nanos: (runAt.getTime() % 1000) * 1_000_000,
        },
        httpRequest: {
          url: target.url(message.priority),
          httpMethod: 'POST',
          headers: { ...target.headers },
          body: target.body(message),
          oauthToken: { serviceAccountEmail: config.serviceAccount, scope: target.oauthScope },
        },
      };
      // The size Cloud Tasks judges is that of the encoded task, in which the
      // payload travels inside the publish request (base64 in Pub/Sub's JSON).
      const taskBytes = Task.encode(Task.fromObject(task)).finish().length;
      if (taskBytes > CLOUD_TASKS_MAX_TASK_BYTES) {
        throw new JackError(
          'invalid_argument',
          `the scheduled job would be a Cloud Task of ${taskBytes} bytes (payload encoded in the ${target.kind} publish request), larger than the Cloud Tasks limit of ${CLOUD_TASKS_MAX_TASK_BYTES} bytes per task`,
          { reason: 'payload_too_large' },
        );
      }
      await withRetries(async (remainingMs, retried) => {
        try {
          await client.createTask({ parent: queueName, task }, callOptions(remainingMs));
        } catch (err) {
          // The name is the job's own: it exists only if this job was
          // scheduled before (a retry, ours or the caller's).
          if (grpcCode(err) === GrpcStatus.ALREADY_EXISTS) {
            logger.debug(
              { jobId: message.jobId, task: name, retried },
              'job was already scheduled',
            );
            return;
          }
          throw err;
        }
      }).catch((err: unknown) => {
        throw toJackError(err, `Cloud Tasks CreateTask for job ${message.jobId} failed`);
      });
      logger.debug({ jobId: message.jobId, task: name, runAt }, 'job scheduled');
    },

    async cancel(jobId) {
      const name = taskName(jobId);
      await withRetries(async (remainingMs, retried) => {
        try {
          await client.deleteTask({ name }, callOptions(remainingMs));
        } catch (err) {
          // After an attempt whose outcome is unknown, NOT_FOUND most likely
          // means that attempt deleted the task.
          if (grpcCode(err) === GrpcStatus.NOT_FOUND && retried) return;
          throw err;
        }
      }).catch((err: unknown) => {
        if (grpcCode(err) === GrpcStatus.NOT_FOUND) {
          throw new JackError(
            'not_found',
            `no scheduled job ${jobId}: never scheduled, already published or already cancelled`,
            { cause: err },
          );
        }
        throw toJackError(err, `Cloud Tasks DeleteTask for job ${jobId} failed`);
      });
      logger.debug({ jobId, task: name }, 'scheduled job cancelled');
    },

    async check() {
      try {
        await client.getQueue({ name: queueName }, callOptions(timeoutMs));
      } catch (err) {
        // Reading the queue needs cloudtasks.queues.get, which the Enqueuer
        // role lacks. A refusal still proves Cloud Tasks is reachable.
        if (grpcCode(err) === GrpcStatus.PERMISSION_DENIED) {
          if (!permissionWarned) {
            permissionWarned = true;
            logger.warn(
              { queue: queueName },
              'cannot read the Cloud Tasks queue (grant roles/cloudtasks.viewer to verify it exists): health checks reachability only',
            );
          }
          return;
        }
        throw toJackError(err, `Cloud Tasks queue ${queueName} is not usable`, true);
      }
    },

    close() {
      closed ??= client.close();
      return closed;
    },
  };
}
