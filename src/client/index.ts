/**
 * Typed client of Jack (SPEC §13): every RPC of jack.BackgroundJobs,
 * jack.AdminService and grpc.health.v1 Check, over one grpc-js channel per
 * client, with a bearer token, a default deadline, and retries of
 * UNAVAILABLE / ABORTED / RESOURCE_EXHAUSTED only. An enqueue without an
 * idempotency key gets one, generated once per logical call and sent on every
 * retry of it, so a retried enqueue is never published twice.
 *
 *   import { createJackClient } from 'jack/client';
 *   const jack = createJackClient({ addr: 'localhost:50051', token });
 *   const { jobId } = await jack.enqueue({ producerId, jobType, payload });
 *   const job = await jack.getJob({ jobId }); // its record in the ledger (SPEC §14)
 *   jack.close();
 *
 * The job ledger (jack.Jobs): `getJob`, `reportJobStatus`, `listJobs` (an
 * async iterator over every page), `watchJob` (an async iterator of the
 * record's versions, ending after a terminal state) and `enqueueAndWait`.
 */
import { randomUUID } from 'node:crypto';
import {
  type ChannelCredentials,
  Client,
  credentials,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import healthCheck from 'grpc-health-check';
import { AdminServiceService } from '../gen/jack/admin.js';
import { BackgroundJobsService, type EnqueueRequest } from '../gen/jack/jack.js';
import { type Job, JobState, JobsService, type ListJobsRequest } from '../gen/jack/jobs.js';
import { JackClientError } from './errors.js';
import { type Init, nested, withDefaults } from './messages.js';
import {
  backoffMs,
  DEFAULT_RETRY,
  RETRYABLE_CODES,
  type RetryOptions,
  retryDelayFromMetadata,
  sleep,
} from './retry.js';

/** The generated messages and codecs, for callers that need their types or JSON forms. */
export * as admin from '../gen/jack/admin.js';
export type {
  BulkResult,
  EnqueueBulkResponse,
  EnqueueRequest,
  EnqueueResponse,
} from '../gen/jack/jack.js';
export * as jobs from '../gen/jack/jack.js';
export * as ledger from '../gen/jack/jobs.js';
export { type Job, JobState } from '../gen/jack/jobs.js';
export * as storage from '../gen/jack/storage.js';
export { type ApiKey, type JobType, type Producer, Queue } from '../gen/jack/storage.js';
export { codeName, JackClientError } from './errors.js';
export type { Init } from './messages.js';
export { DEFAULT_RETRY, RETRYABLE_CODES, type RetryOptions } from './retry.js';

/** A default deadline that fits Jack's bounded backend waits (SPEC §2.6). */
export const DEFAULT_DEADLINE_MS = 10_000;

export interface JackClientOptions {
  /** host:port of Jack. */
  addr: string;
  /** Sent as `authorization: Bearer <token>` (an API key or an OIDC ID token). */
  token?: string;
  /** true: TLS with the system roots; `{ ca }`: TLS trusting that CA (PEM). */
  tls?: boolean | { ca?: Buffer };
  /** Deadline of one logical call, its retries included. Default 10 s. */
  deadlineMs?: number;
  /** Retry policy; `false` sends every call once. */
  retry?: Partial<RetryOptions> | false;
}

export interface CallOptions {
  /** Overrides the client's deadline for this call (retries included). */
  deadlineMs?: number;
  /** Cancels the call (and its pending retries). */
  signal?: AbortSignal;
  /** Marks the call as shadow traffic (`shadow: true` metadata, SPEC §2.4). */
  shadow?: boolean;
  /** Extra request metadata. */
  metadata?: Record<string, string>;
  /** Overrides the client's retry policy for this call. */
  retry?: Partial<RetryOptions> | false;
  /** Told before each retry: the attempt that failed and the wait. */
  onRetry?: (info: { attempt: number; error: JackClientError; delayMs: number }) => void;
}

/** One unary method of a ts-proto grpc-js service definition. */
interface UnaryDef<Req, Res> {
  path: string;
  requestSerialize(value: Req): Buffer;
  requestDeserialize(value: Buffer): Req;
  responseDeserialize(value: Buffer): Res;
}

type Rpcs<S> = {
  [K in keyof S]: S[K] extends UnaryDef<infer Req, infer Res>
    ? (request?: Init<Req>, options?: CallOptions) => Promise<Res>
    : never;
};

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** SUCCEEDED, DEAD and CANCELLED: a job in one of them never changes again (SPEC §14). */
export const TERMINAL_JOB_STATES: ReadonlySet<JobState> = new Set([
  JobState.JOB_STATE_SUCCEEDED,
  JobState.JOB_STATE_DEAD,
  JobState.JOB_STATE_CANCELLED,
]);

/** How long `enqueueAndWait` waits for a terminal state unless told otherwise, ms. */
export const DEFAULT_WAIT_MS = 10 * 60_000;

export interface WatchOptions {
  /** Gives up (DEADLINE_EXCEEDED) after this long, ms; default: no limit. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

export type JackClient = Rpcs<typeof BackgroundJobsService> &
  Rpcs<typeof AdminServiceService> &
  Omit<Rpcs<typeof JobsService>, 'listJobs' | 'watchJob'> & {
    /** One page of ListJobs, as the RPC answers it. */
    listJobsPage(
      request?: Init<ListJobsRequest>,
      options?: CallOptions,
    ): Promise<{ jobs: Job[]; nextPageToken: string }>;
    /** Every record that matches, newest first, page after page (page_token is managed here). */
    listJobs(
      request?: Init<Omit<ListJobsRequest, 'pageToken'>>,
      options?: CallOptions,
    ): AsyncIterable<Job>;
    /** The record, then each change, until a terminal state (then the iteration ends). */
    watchJob(jobId: string, options?: WatchOptions): AsyncIterable<Job>;
    /**
     * Enqueues (with an idempotency key) and watches the job until a terminal
     * state; answers its last record. A watch cut by a restarting server is
     * opened again (the ledger may be shared by every replica); bounded by
     * `waitMs` (default 10 minutes).
     */
    enqueueAndWait(
      request: Init<EnqueueRequest>,
      options?: CallOptions & { waitMs?: number },
    ): Promise<Job>;
    /** grpc.health.v1.Health/Check; '' = the whole server. */
    check(service?: string, options?: CallOptions): Promise<{ status: ServingStatus }>;
    /** Closes the channel; calls made afterwards fail. */
    close(): void;
  };

const healthCheckDef = (healthCheck.service as unknown as Record<string, unknown>)
  .Check as UnaryDef<{ service: string }, { status: ServingStatus }>;

/** Fills in what a request left out; an enqueue gets its idempotency key here, once. */
const prepare: Record<string, (init: Record<string, unknown>) => Record<string, unknown>> = {
  enqueue: (init) => withIdempotencyKey(init as Init<EnqueueRequest>),
  enqueueBulk: (init) => ({
    ...init,
    jobs: ((init.jobs as Init<EnqueueRequest>[] | undefined) ?? []).map((job) =>
      nested.enqueueRequest(withIdempotencyKey(job)),
    ),
  }),
  updateProducer: (init) => ({
    ...init,
    producer: nested.producer(init.producer as never),
  }),
  updateJobType: (init) => ({
    ...init,
    jobType: nested.jobType(init.jobType as never),
  }),
};

function withIdempotencyKey(job: Init<EnqueueRequest>): Init<EnqueueRequest> {
  return job.idempotencyKey ? job : { ...job, idempotencyKey: randomUUID() };
}

function channelCredentials(tls: JackClientOptions['tls']): ChannelCredentials {
  if (tls === undefined || tls === false) return credentials.createInsecure();
  return credentials.createSsl(tls === true ? null : (tls.ca ?? null));
}

/** What a bearer token may hold: visible ASCII (API keys and JWTs are base64url and dots). */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

export function createJackClient(options: JackClientOptions): JackClient {
  if (options.token && !TOKEN_CHARS.test(options.token)) {
    // grpc-js would refuse it on every call with a message that quotes the
    // whole header, i.e. the secret: refuse it here, without showing it.
    throw new JackClientError(
      status.INVALID_ARGUMENT,
      'the token has characters a bearer token cannot have (spaces, control characters such as a newline, or non-ASCII; value not shown)',
    );
  }
  const client = new Client(options.addr, channelCredentials(options.tls), {
    'grpc.primary_user_agent': 'jack-client',
    // Retries are ours (with RetryInfo and idempotency keys), not the channel's.
    'grpc.enable_retries': 0,
  });
  const defaultDeadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;

  const attempt = <Req, Res>(
    def: UnaryDef<Req, Res>,
    request: Req,
    metadata: Metadata,
    deadline: number,
    signal: AbortSignal | undefined,
  ) =>
    new Promise<Res>((resolve, reject) => {
      const call = client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        metadata,
        { deadline },
        (err: ServiceError | null, response?: Res) => {
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(new JackClientError(err.code, err.details, { metadata: err.metadata }));
          else resolve(response as Res);
        },
      );
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  async function invoke<Req, Res>(
    def: UnaryDef<Req, Res>,
    request: Req,
    callOptions: CallOptions = {},
  ): Promise<Res> {
    const policyOption = callOptions.retry ?? options.retry;
    const policy: RetryOptions =
      policyOption === false
        ? { ...DEFAULT_RETRY, maxAttempts: 1 }
        : { ...DEFAULT_RETRY, ...policyOption };
    const deadline = Date.now() + (callOptions.deadlineMs ?? defaultDeadlineMs);
    const metadata = new Metadata();
    if (options.token) metadata.set('authorization', `Bearer ${options.token}`);
    if (callOptions.shadow) metadata.set('shadow', 'true');
    for (const [key, value] of Object.entries(callOptions.metadata ?? {})) metadata.set(key, value);

    for (let n = 1; ; n++) {
      if (callOptions.signal?.aborted) {
        throw new JackClientError(status.CANCELLED, 'call cancelled', { attempts: n - 1 });
      }
      try {
        return await attempt(def, request, metadata, deadline, callOptions.signal);
      } catch (err) {
        const error = err as JackClientError;
        const failed = new JackClientError(error.code, error.details, {
          metadata: error.metadata,
          attempts: n,
        });
        if (!RETRYABLE_CODES.has(error.code) || n >= policy.maxAttempts) throw failed;
        const delayMs = backoffMs(n, policy, retryDelayFromMetadata(error.metadata));
        // A retry that could not finish before the deadline is not made.
        if (Date.now() + delayMs >= deadline) throw failed;
        callOptions.onRetry?.({ attempt: n, error: failed, delayMs });
        await sleep(delayMs, callOptions.signal).catch(() => {
          throw new JackClientError(status.CANCELLED, 'call cancelled', { attempts: n });
        });
      }
    }
  }

  const methods: Record<string, unknown> = {};
  for (const service of [BackgroundJobsService, AdminServiceService, JobsService]) {
    for (const [name, def] of Object.entries(service) as [string, UnaryDef<object, object>][]) {
      if ((def as { responseStream?: boolean }).responseStream) continue;
      methods[name] = (init: Record<string, unknown> = {}, callOptions?: CallOptions) => {
        const filled = prepare[name]?.(init) ?? init;
        return invoke(
          def,
          withDefaults((b) => def.requestDeserialize(b), filled),
          callOptions,
        );
      };
    }
  }
  const unary = methods as Rpcs<typeof BackgroundJobsService> &
    Rpcs<typeof AdminServiceService> &
    Rpcs<typeof JobsService>;

  async function* watchJob(jobId: string, watchOptions: WatchOptions = {}): AsyncGenerator<Job> {
    const metadata = new Metadata();
    if (options.token) metadata.set('authorization', `Bearer ${options.token}`);
    const def = JobsService.watchJob;
    const stream = client.makeServerStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      { jobId },
      metadata,
      watchOptions.deadlineMs === undefined
        ? {}
        : { deadline: Date.now() + watchOptions.deadlineMs },
    );
    const onAbort = () => stream.cancel();
    watchOptions.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for await (const job of stream as AsyncIterable<Job>) yield job;
    } catch (err) {
      const e = err as ServiceError;
      throw new JackClientError(e.code ?? status.UNKNOWN, e.details ?? String(err), {
        metadata: e.metadata,
      });
    } finally {
      watchOptions.signal?.removeEventListener('abort', onAbort);
      stream.cancel();
    }
  }

  async function* listJobs(
    request: Init<Omit<ListJobsRequest, 'pageToken'>> = {},
    callOptions?: CallOptions,
  ): AsyncGenerator<Job> {
    let pageToken = '';
    do {
      const page = await unary.listJobs({ ...request, pageToken }, callOptions);
      yield* page.jobs;
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  }

  async function enqueueAndWait(
    request: Init<EnqueueRequest>,
    callOptions: CallOptions & { waitMs?: number } = {},
  ): Promise<Job> {
    const waitUntil = Date.now() + (callOptions.waitMs ?? DEFAULT_WAIT_MS);
    // The key is fixed here, so a retried enqueue (ours or the caller's) is one job.
    const { jobId } = await unary.enqueue(withIdempotencyKey(request), callOptions);
    let last: Job | undefined;
    for (;;) {
      const left = waitUntil - Date.now();
      if (left <= 0) break;
      try {
        for await (const job of watchJob(jobId, { deadlineMs: left, signal: callOptions.signal })) {
          last = job;
          if (TERMINAL_JOB_STATES.has(job.state)) return job;
        }
      } catch (err) {
        const code = (err as JackClientError).code;
        if (code !== status.UNAVAILABLE) throw err;
        await sleep(Math.min(500, Math.max(0, waitUntil - Date.now())), callOptions.signal);
      }
    }
    throw new JackClientError(
      status.DEADLINE_EXCEEDED,
      `job ${jobId} did not reach a terminal state in time${last === undefined ? '' : ` (last seen ${JobState[last.state] ?? last.state})`}`,
    );
  }

  return {
    ...unary,
    listJobsPage: (request, callOptions) => unary.listJobs(request, callOptions),
    listJobs,
    watchJob,
    enqueueAndWait,
    check: (service = '', callOptions) => invoke(healthCheckDef, { service }, callOptions),
    close: () => client.close(),
  };
}
