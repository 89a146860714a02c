/**
 * A second reference for `make bench` (BENCH_BASELINE=required): the bare
 * baseline (baseline-server.mjs) plus only the per-call work the SPEC asks of
 * Enqueue and EnqueueBulk on the noop backend, written inline as a minimal
 * service would: a request id sent back as `x-request-id` (§4), the field
 * checks and the registry lookup, a job id from Jack's generator (§2), the
 * message attributes from Jack's own function (§3), a publish promise, a call
 * counter and a latency histogram, and the SPEC §6 server options (channelz
 * off, as Jack). No pipeline, no context, no interceptors, no layers.
 *
 * Jack / this server is the cost of Jack's design; this server / the bare
 * baseline is the cost of the work itself, which no design can avoid
 * (docs/performance.md, "What the SPEC's work costs by itself").
 * A call with an idempotency key (§9) also does the keyed work: the key
 * check, the SHA-256 fingerprint, a claim before the publish and a completion
 * after it, in a bounded Map, or in Redis when REDIS_URL is set (SET NX PX
 * and SET XX PX: two round trips, as any store needs).
 * env: GRPC_PORT, REDIS_URL; REQUIRED_WORK_OMIT = comma list of `header`,
 * `job`, `options` to leave that part out (knock-outs).
 */
import { hash, randomUUID } from 'node:crypto';
import grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Redis } from 'ioredis';
import client from 'prom-client';
import { LOAD_OPTIONS } from '../dist/api/proto.js';
import { createJobIdGenerator } from '../dist/jobid/job-id.js';
import { messageAttributes } from '../dist/queue/message.js';

const { BackgroundJobs } = grpc.loadPackageDefinition(
  loadSync('jack/jack.proto', LOAD_OPTIONS),
).jack;

const port = Number(process.env.GRPC_PORT ?? 50051);
const omit = new Set((process.env.REQUIRED_WORK_OMIT ?? '').split(',').filter(Boolean));
const MAX_PAYLOAD_BYTES = 1 << 20;
const ids = createJobIdGenerator();
// The producer and job type the bench registers for Jack (bench/run.mjs).
const registry = new Map([
  ['prod_0000be4c', new Map([['send_email', { priority: 'medium', maxRetries: 10 }]])],
]);
const UNREGISTERED = { priority: 'medium', maxRetries: 10 };
const calls = new client.Counter({ name: 'calls_total', help: 'calls', labelNames: ['method'] });
const seconds = new client.Histogram({
  name: 'call_seconds',
  help: 'call latency',
  labelNames: ['method'],
});
const enqueueCalls = calls.labels('Enqueue');
const enqueueSeconds = seconds.labels('Enqueue');
const bulkCalls = calls.labels('EnqueueBulk');
const bulkSeconds = seconds.labels('EnqueueBulk');
/** Calls answered with an error; printed at exit so the bench can check it is 0. */
let failedCalls = 0;

/** The job and its message, or undefined when a field is missing or too large. */
function prepare(request) {
  if (!request.producerId || !request.jobType || request.payload.length > MAX_PAYLOAD_BYTES) {
    return undefined;
  }
  const route = registry.get(request.producerId)?.get(request.jobType) ?? UNREGISTERED;
  const nowMs = Date.now();
  const createdAt = new Date(nowMs);
  if (omit.has('job')) return { jobId: 'pjob_0' };
  const job = {
    id: ids.next(request.producerId, request.jobType, nowMs),
    producerId: request.producerId,
    jobType: request.jobType,
    priority: route.priority,
    payload: request.payload,
    runAt: createdAt,
    createdAt,
    traceId: request.traceId ?? '',
    correlationId: request.correlationId ?? '',
    maxRetries: route.maxRetries,
    shadow: false,
  };
  return {
    jobId: job.id,
    priority: job.priority,
    data: job.payload,
    attributes: messageAttributes(job),
  };
}

const KEY_TTL_MS = 24 * 3_600_000;
const MAX_KEYS = 100_000;
const LONE_SURROGATE = /\p{Cs}/u;
const redis =
  process.env.REDIS_URL === undefined
    ? undefined
    : new Redis(process.env.REDIS_URL, { enableAutoPipelining: true });
const keys = new Map();

/** Records `record` under `key` unless the key is taken; resolves with the existing record, if any. */
function claim(key, record) {
  if (redis !== undefined) {
    return redis
      .set(key, record, 'PX', KEY_TTL_MS, 'NX')
      .then((ok) => (ok === 'OK' ? undefined : redis.get(key)));
  }
  const existing = keys.get(key);
  if (existing !== undefined) return Promise.resolve(existing);
  keys.set(key, record);
  if (keys.size > MAX_KEYS) {
    for (const old of keys.keys()) {
      keys.delete(old);
      if (keys.size <= MAX_KEYS - MAX_KEYS / 10) break;
    }
  }
  return Promise.resolve(undefined);
}

function complete(key, record) {
  if (redis !== undefined) return redis.set(key, record, 'PX', KEY_TTL_MS, 'XX');
  keys.set(key, record);
  return Promise.resolve();
}

/** The keyed path: a claim before the publish, the completion after it. */
function publishKeyed(request, message) {
  const key = request.idempotencyKey;
  if (LONE_SURROGATE.test(key) || Buffer.byteLength(key, 'utf8') > 256) {
    return Promise.reject(new Error('invalid key'));
  }
  const head = Buffer.from(`${Buffer.byteLength(request.jobType, 'utf8')}:${request.jobType}:-:`);
  const fingerprint = hash('sha256', Buffer.concat([head, request.payload]), 'base64url');
  const storeKey = [request.producerId.length, request.producerId, key].join(':');
  return claim(storeKey, `p|${message.jobId}|${fingerprint}`).then((existing) => {
    if (existing != null) return existing.split('|')[1];
    return publish(message)
      .then(() => complete(storeKey, `d|${message.jobId}|${fingerprint}`))
      .then(() => message.jobId);
  });
}

/** The noop backend: accepted at once, asynchronously, one promise per call, like Jack's. */
const publish = async (_message) => 'noop';
const publishMany = async (messages) => messages.map(() => 'noop');

/** A publish that failed (the noop one never does): UNAVAILABLE, counted. */
const failed = (callback) => (err) => {
  failedCalls++;
  callback({ code: grpc.status.UNAVAILABLE, details: String(err) });
};

function sendRequestId(call, requestId) {
  if (requestId === undefined) return;
  const metadata = new grpc.Metadata();
  metadata.set('x-request-id', requestId);
  call.sendMetadata(metadata);
}

function answerEnqueue(call, callback, requestId, started, jobId) {
  sendRequestId(call, requestId);
  enqueueCalls.inc();
  enqueueSeconds.observe((performance.now() - started) / 1000);
  callback(null, { jobId, errorMessages: [], correlationId: call.request.correlationId ?? '' });
}

const options = omit.has('options')
  ? {}
  : {
      // Jack's defaults (src/config/defaults.ts).
      'grpc.max_receive_message_length': 16 << 20,
      'grpc.max_send_message_length': 16 << 20,
      'grpc.max_concurrent_streams': 100,
      'grpc-node.max_session_memory': 32,
      'grpc.max_connection_idle_ms': 5 * 60_000,
      'grpc.max_connection_age_ms': 30 * 60_000,
      'grpc.max_connection_age_grace_ms': 60_000,
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.enable_channelz': 0,
    };

const server = new grpc.Server(options);
server.addService(BackgroundJobs.service, {
  enqueue(call, callback) {
    const started = performance.now();
    const requestId = omit.has('header') ? undefined : randomUUID();
    const message = prepare(call.request);
    if (message === undefined) {
      failedCalls++;
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'invalid job' });
      return;
    }
    if (call.request.idempotencyKey) {
      publishKeyed(call.request, message).then(
        (jobId) => answerEnqueue(call, callback, requestId, started, jobId),
        failed(callback),
      );
      return;
    }
    publish(message).then(
      () => answerEnqueue(call, callback, requestId, started, message.jobId),
      failed(callback),
    );
  },
  enqueueBulk(call, callback) {
    const started = performance.now();
    const requestId = omit.has('header') ? undefined : randomUUID();
    const jobs = call.request.jobs;
    const messages = jobs.map(prepare);
    if (messages.includes(undefined)) {
      failedCalls++;
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'invalid job' });
      return;
    }
    publishMany(messages).then(() => {
      sendRequestId(call, requestId);
      bulkCalls.inc();
      bulkSeconds.observe((performance.now() - started) / 1000);
      callback(null, {
        results: messages.map((message, index) => ({
          index,
          jobId: message.jobId,
          error: '',
          errorMessages: [],
          correlationId: jobs[index].correlationId ?? '',
          reason: '',
        })),
      });
    }, failed(callback));
  },
  cancelJob(_call, callback) {
    callback({ code: grpc.status.UNIMPLEMENTED, details: 'required-work reference' });
  },
});
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err) {
    process.stderr.write(`required-work server: ${err.message}\n`);
    process.exit(1);
  }
});
process.on('SIGTERM', () => {
  // The same line as the bare baseline's: run.mjs checks it.
  process.stderr.write(`baseline failed calls: ${failedCalls}\n`);
  server.tryShutdown(() => process.exit(0));
});
