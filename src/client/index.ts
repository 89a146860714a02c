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
 *   jack.close();
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

export type JackClient = Rpcs<typeof BackgroundJobsService> &
  Rpcs<typeof AdminServiceService> & {
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
  for (const service of [BackgroundJobsService, AdminServiceService]) {
    for (const [name, def] of Object.entries(service) as [string, UnaryDef<object, object>][]) {
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
  return {
    ...(methods as Rpcs<typeof BackgroundJobsService> & Rpcs<typeof AdminServiceService>),
    check: (service = '', callOptions) => invoke(healthCheckDef, { service }, callOptions),
    close: () => client.close(),
  };
}
