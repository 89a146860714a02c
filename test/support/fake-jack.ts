/**
 * A tiny grpc-js server that speaks Jack's wire contract (the generated
 * service definitions) for testing the client and the CLI where the real
 * server cannot produce the behaviour on demand (fail the first N attempts,
 * send RetryInfo) or does not serve an RPC yet. It records every call.
 * Not a model of Jack's rules: each answer is scripted or trivially derived
 * from the request.
 */
import {
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { RetryInfo } from '../../src/gen/google/rpc/error_details.js';
import { Status } from '../../src/gen/google/rpc/status.js';
import * as admin from '../../src/gen/jack/admin.js';
import { AdminServiceService } from '../../src/gen/jack/admin.js';
import * as jobs from '../../src/gen/jack/jack.js';
import { BackgroundJobsService } from '../../src/gen/jack/jack.js';
import { Queue } from '../../src/gen/jack/storage.js';

/** A scripted failure of one attempt. */
export interface Failure {
  code: status;
  details?: string;
  /** Sent as google.rpc.RetryInfo in grpc-status-details-bin. */
  retryDelayMs?: number;
  /** Answer only after this long (for deadline tests). */
  delayMs?: number;
}

export interface RecordedCall {
  method: string;
  // biome-ignore lint/suspicious/noExplicitAny: requests of every method are recorded together
  request: any;
  metadata: Metadata;
  at: number;
}

// biome-ignore lint/suspicious/noExplicitAny: one handler shape for every method
type Handler = (request: any, attempt: number) => unknown;

export interface FakeJack {
  address: string;
  calls: RecordedCall[];
  /** The next attempts of `method` fail like this, in order; then the handler answers. */
  fail(method: string, ...failures: Failure[]): void;
  /** Replaces the answer of `method` (attempt counts the method's calls from 1). */
  handle(method: string, handler: Handler): void;
  /** Calls of one method. */
  callsOf(method: string): RecordedCall[];
  close(): Promise<void>;
}

/** The trailer a server sends to ask for a retry after `ms`. */
export function retryInfoMetadata(code: status, message: string, ms: number): Metadata {
  const metadata = new Metadata();
  const retryInfo = RetryInfo.encode({
    retryDelay: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
  }).finish();
  const details = Status.encode({
    code,
    message,
    details: [
      { typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: Buffer.from(retryInfo) },
    ],
  }).finish();
  metadata.set('grpc-status-details-bin', Buffer.from(details));
  return metadata;
}

const defaults: Record<string, Handler> = {
  enqueue: (r, n) => ({
    jobId: `pjob_fake${n}`,
    errorMessages: [],
    correlationId: r.correlationId,
  }),
  enqueueBulk: (r) => ({
    results: r.jobs.map((j: { correlationId: string }, index: number) => ({
      index,
      jobId: `pjob_bulk${index}`,
      correlationId: j.correlationId,
    })),
  }),
  cancelJob: () => ({}),
  createProducer: (r) => ({ producer: { producerId: 'prod_fake0001', ...r, rateLimitRps: 1000 } }),
  getProducer: (r) => ({ producer: { producerId: r.producerId, name: 'fake' } }),
  listProducers: () => ({ producers: [], nextPageToken: '' }),
  createJobType: (r) => ({ jobType: r }),
  listJobTypes: () => ({ jobTypes: [], nextPageToken: '' }),
  updateProducer: (r) => ({ producer: r.producer }),
  deleteProducer: () => ({}),
  getJobType: (r) => ({
    jobType: { producerId: r.producerId, name: r.name, queue: Queue.QUEUE_HIGH, maxRetries: 7 },
  }),
  updateJobType: (r) => ({ jobType: r.jobType }),
  deleteJobType: () => ({}),
  createApiKey: (r) => ({
    apiKey: { keyId: 'key_00112233aabbccdd', producerId: r.producerId, description: r.description },
    token: 'jk_key_00112233aabbccdd_secret',
  }),
  listApiKeys: (r) => ({
    apiKeys: [{ keyId: 'key_00112233aabbccdd', producerId: r.producerId, description: 'ci' }],
    nextPageToken: '',
  }),
  revokeApiKey: () => ({}),
};

export async function startFakeJack(): Promise<FakeJack> {
  const server = new Server();
  const calls: RecordedCall[] = [];
  const failures = new Map<string, Failure[]>();
  const handlers = new Map<string, Handler>(Object.entries(defaults));
  const implementation: UntypedServiceImplementation = {};
  for (const method of Object.keys(defaults)) {
    // Answers are written as protobuf JSON; the generated fromJSON completes them.
    const name = `${method[0]?.toUpperCase()}${method.slice(1)}Response`;
    const codec = ((jobs as Record<string, unknown>)[name] ??
      (admin as Record<string, unknown>)[name]) as { fromJSON(o: unknown): unknown };
    implementation[method] = (
      call: ServerUnaryCall<unknown, unknown>,
      cb: sendUnaryData<unknown>,
    ) => {
      calls.push({ method, request: call.request, metadata: call.metadata, at: Date.now() });
      const attempt = calls.filter((c) => c.method === method).length;
      const failure = failures.get(method)?.shift();
      const answer = () => {
        if (failure === undefined || failure.code === status.OK) {
          cb(null, codec.fromJSON(handlers.get(method)?.(call.request, attempt)));
          return;
        }
        const details = failure.details ?? `scripted ${status[failure.code]}`;
        cb({
          code: failure.code,
          details,
          metadata:
            failure.retryDelayMs === undefined
              ? new Metadata()
              : retryInfoMetadata(failure.code, details, failure.retryDelayMs),
        });
      };
      if (failure?.delayMs) setTimeout(answer, failure.delayMs);
      else answer();
    };
  }
  server.addService(BackgroundJobsService, implementation);
  server.addService(AdminServiceService, implementation);
  new HealthImplementation({
    '': 'SERVING',
    'jack.BackgroundJobs': 'SERVING',
    'jack.AdminService': 'NOT_SERVING',
  }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    calls,
    fail(method, ...list) {
      failures.set(method, [...(failures.get(method) ?? []), ...list]);
    },
    handle(method, handler) {
      handlers.set(method, handler);
    },
    callsOf(method) {
      return calls.filter((c) => c.method === method);
    },
    close() {
      return new Promise((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
