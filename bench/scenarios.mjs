/**
 * The benchmark's rows, as data. A scenario is a name, the env Jack runs
 * with, the metadata every call carries, and the request each call sends
 * (one fixed body, or a generator called per call, e.g. for a fresh
 * idempotency key). `run.mjs` measures every scenario the same way against
 * the same bare baseline, so a row for a new feature is one more entry here.
 *
 * Fields:
 * - id, name: BENCH_ONLY selector and report label.
 * - method: 'Enqueue' | 'EnqueueBulk'; jobsPerCall; concurrency; producerId (default:
 *   the registered one).
 * - needs: components the bench starts for it: 'redis', 'otlp', 'pubsub', 'nats'.
 * - env(ctx): Jack's extra env (ctx: producerId, redisUrl, otlpUrl, pubsubHost, natsUrl, bootstrapKey).
 * - baselineEnv(ctx): the baseline's extra env (Pub/Sub rows).
 * - prepare(ctx, jack): once, against a throwaway Jack with the scenario's env;
 *   returns { metadata } (e.g. an API key it created). A throw makes the row
 *   "n/a (reason)": the feature is not there yet.
 * - verify(ctx, jack, metadata): proves on a measured Jack that the feature is
 *   really on (an env var Jack does not know yet is silently ignored).
 * - request(ctx, index): the EnqueueRequest of call number `index` (per-call
 *   generator; runs in the load-generator process). Absent: one fixed body.
 * - target: { ratio, p99 } goals printed in the report; rss: report memory.
 * - reference: { env(ctx) }: the "baseline" side is Jack itself with this env
 *   (a feature on vs off in the same run), loaded over gRPC.
 * - transport: 'grpc' (default) | 'connect' (Connect binary, h2c) | 'json-h1'
 *   (Connect JSON, HTTP/1.1 keep-alive): the wire Jack's side is loaded over
 *   (needs HTTP_PORT: 'free' in env).
 * - baselineServer: 'connect': the baseline is bench/connect-baseline-server.mjs
 *   (bare connect-node, constant answers), loaded over the row's transport.
 * needs may also name 'postgres' (ctx.postgresUrl: a fresh database).
 */
import { randomBytes } from 'node:crypto';
import { EnqueueResponse } from '../dist/gen/jack/jack.js';

/** A 1 KiB JSON payload, the size of a typical job's arguments. */
export const PAYLOAD = Buffer.from(
  JSON.stringify({ user_id: 12345, template: 'welcome', pad: 'x'.repeat(1024 - 49) }),
);

/** The request every fixed-body scenario sends (also the generators' starting point). */
export function enqueueRequest(producerId) {
  return {
    producerId,
    jobType: 'send_email',
    payload: PAYLOAD,
    runAt: undefined,
    traceId: '',
    correlationId: '',
    idempotencyKey: '',
  };
}

/** Unique per generator process, so keys never repeat across slices. */
const KEY_PREFIX = randomBytes(6).toString('hex');

const freshIdempotencyKey = (ctx, index) => ({
  ...enqueueRequest(ctx.producerId),
  idempotencyKey: `bench-${KEY_PREFIX}-${index}`,
});

/** Calls Enqueue with `request` and `metadata`; resolves with the decoded response or the gRPC error. */
async function enqueueOnce(jack, request, metadata = {}) {
  try {
    return { response: EnqueueResponse.decode(await jack.enqueue(request, metadata)) };
  } catch (err) {
    return { error: err };
  }
}

const GRPC = { RESOURCE_EXHAUSTED: 8, UNAUTHENTICATED: 16 };

async function rateLimitEnforced(ctx, jack) {
  // The second producer may send 1 job/s: a burst of 5 must meet the limit.
  const codes = [];
  for (let i = 0; i < 5; i++) {
    codes.push((await enqueueOnce(jack, enqueueRequest(ctx.limitedProducerId))).error?.code ?? 0);
  }
  if (!codes.includes(GRPC.RESOURCE_EXHAUSTED)) {
    throw new Error('RATE_LIMIT_MODE=enforce is not in effect (5 calls at 1 job/s all passed)');
  }
}

async function idempotencyInEffect(ctx, jack) {
  const request = freshIdempotencyKey(ctx, `verify-${Date.now()}`);
  const first = await enqueueOnce(jack, request);
  const second = await enqueueOnce(jack, request);
  if (first.error !== undefined) throw first.error;
  if (second.response?.duplicate !== true) {
    throw new Error('idempotency keys are not in effect (a repeated key was not a duplicate)');
  }
}

async function usesRedis(ctx) {
  if ((await ctx.redisKeys()) === 0) throw new Error('nothing was written to Redis');
}

const LEDGER_OFF = { reference: { env: () => ({ JOB_LEDGER: 'off' }) } };
const postgresLedger = (ctx) => ({ JOB_LEDGER: 'postgres', LEDGER_DATABASE_URL: ctx.postgresUrl });

/** JOB_LEDGER=postgres is really writing: an Enqueue's record reaches the table. */
async function ledgerInPostgres(ctx, jack) {
  const { default: pg } = await import('pg');
  const db = new pg.Client({ connectionString: ctx.postgresUrl });
  await db.connect();
  try {
    const count = async () =>
      Number((await db.query('SELECT count(*) AS n FROM jack_jobs')).rows[0].n);
    const before = await count();
    const { error } = await enqueueOnce(jack, enqueueRequest(ctx.producerId));
    if (error !== undefined) throw error;
    const deadline = Date.now() + 5_000;
    while ((await count()) === before) {
      if (Date.now() > deadline) throw new Error('JOB_LEDGER=postgres wrote no record within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await db.end();
  }
}

/** Jack's HTTP transport on a free port (SPEC §18). */
const HTTP_ON = { HTTP_PORT: 'free' };

const BOOTSTRAP = `bench-bootstrap-${'k'.repeat(32)}`;

export const SCENARIOS = [
  {
    id: 'c1',
    name: 'Enqueue noop 1 KiB c=1',
    method: 'Enqueue',
    concurrency: 1,
  },
  {
    id: 'c16',
    name: 'Enqueue noop 1 KiB c=16',
    method: 'Enqueue',
    concurrency: 16,
  },
  {
    id: 'c64',
    name: 'Enqueue noop 1 KiB c=64',
    method: 'Enqueue',
    concurrency: 64,
    target: { ratio: 0.9, p99: 1.5 },
    rss: true,
  },
  {
    // Not registered: every answer carries two warnings (SPEC §2, VALIDATION_MODE=warn).
    id: 'c64-unregistered',
    name: 'Enqueue noop 1 KiB c=64, unregistered producer',
    method: 'Enqueue',
    concurrency: 64,
    producerId: 'prod_0000dead',
  },
  {
    id: 'bulk',
    name: 'EnqueueBulk(100) noop c=16',
    method: 'EnqueueBulk',
    jobsPerCall: 100,
    concurrency: 16,
    target: { ratio: 0.9 },
  },
  {
    id: 'auth',
    target: { ratio: 0.85 }, // the ratio its issue names
    name: 'Enqueue, AUTH_MODE=on, API key c=64',
    method: 'Enqueue',
    concurrency: 64,
    env: () => ({ AUTH_MODE: 'on', AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP }),
    async prepare(ctx, jack) {
      const { token } = await jack.admin(
        'createApiKey',
        { producerId: ctx.producerId, description: 'bench' },
        { authorization: `Bearer ${BOOTSTRAP}` },
      );
      if (typeof token !== 'string' || token === '') throw new Error('CreateApiKey gave no token');
      return { metadata: { authorization: `Bearer ${token}` } };
    },
    async verify(ctx, jack) {
      const anonymous = await enqueueOnce(jack, enqueueRequest(ctx.producerId), {});
      if (anonymous.error?.code !== GRPC.UNAUTHENTICATED) {
        throw new Error('AUTH_MODE=on is not in effect (a call without a key was not refused)');
      }
    },
  },
  {
    id: 'ratelimit',
    target: { ratio: 0.9 }, // the ratio its issue names
    name: 'Enqueue, RATE_LIMIT_MODE=enforce (memory) c=64',
    method: 'Enqueue',
    concurrency: 64,
    env: () => ({ RATE_LIMIT_MODE: 'enforce' }),
    verify: rateLimitEnforced,
  },
  {
    id: 'ratelimit-redis',
    target: { ratio: 0.75 }, // the ratio its issue names
    name: 'Enqueue, RATE_LIMIT_MODE=enforce + REDIS_URL c=64',
    method: 'Enqueue',
    concurrency: 64,
    needs: ['redis'],
    env: (ctx) => ({ RATE_LIMIT_MODE: 'enforce', REDIS_URL: ctx.redisUrl }),
    async verify(ctx, jack) {
      await rateLimitEnforced(ctx, jack);
      await usesRedis(ctx);
    },
  },
  {
    // The reference for the rows below that build each call in the generator
    // (node:http2 instead of h2load): the same plain Enqueue, built per call.
    id: 'c64-gen',
    name: 'Enqueue noop 1 KiB c=64, built per call',
    method: 'Enqueue',
    concurrency: 64,
    request: (ctx) => enqueueRequest(ctx.producerId),
  },
  {
    id: 'idem',
    target: { ratio: 0.85 }, // the ratio its issue names
    name: 'Enqueue, idempotency key per call (memory) c=64',
    method: 'Enqueue',
    concurrency: 64,
    request: freshIdempotencyKey,
    verify: idempotencyInEffect,
  },
  {
    id: 'idem-redis',
    target: { ratio: 0.7 }, // the ratio its issue names
    name: 'Enqueue, idempotency key per call (Redis) c=64',
    method: 'Enqueue',
    concurrency: 64,
    needs: ['redis'],
    env: (ctx) => ({ REDIS_URL: ctx.redisUrl }),
    request: freshIdempotencyKey,
    async verify(ctx, jack) {
      await idempotencyInEffect(ctx, jack);
      await usesRedis(ctx);
    },
  },
  {
    id: 'tracing',
    name: 'Enqueue, tracing on (OTLP to a local collector stub) c=64',
    method: 'Enqueue',
    concurrency: 64,
    needs: ['otlp'],
    env: (ctx) => ({
      OTEL_EXPORTER_OTLP_ENDPOINT: ctx.otlpUrl,
      OTEL_SERVICE_NAME: 'jack-bench',
      // Exports within the verify window instead of after the SDK's 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '200',
    }),
    async verify(ctx, jack) {
      const before = ctx.otlpRequests();
      await enqueueOnce(jack, enqueueRequest(ctx.producerId));
      // 8 s: more than the SDK's default 5 s batch delay, should the delay above be ignored.
      const deadline = Date.now() + 8_000;
      while (ctx.otlpRequests() === before) {
        if (Date.now() > deadline) throw new Error('no span reached the OTLP endpoint within 8 s');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  },
  ...[16, 64].map((concurrency) => ({
    id: `pubsub${concurrency}`,
    group: 'pubsub',
    name: `Enqueue Pub/Sub emulator 1 KiB c=${concurrency}`,
    method: 'Enqueue',
    concurrency,
    needs: ['pubsub'],
    target: { ratio: 0.9 },
    env: (ctx) => ({
      QUEUE_BACKEND: 'pubsub',
      PUBSUB_PROJECT: 'bench',
      PUBSUB_EMULATOR_HOST: ctx.pubsubHost,
      PUBSUB_TOPIC_MEDIUM: 'bench-jobs',
    }),
    baselineEnv: (ctx) => ({
      PUBSUB_PROJECT: 'bench',
      PUBSUB_EMULATOR_HOST: ctx.pubsubHost,
      BASELINE_PUBSUB_TOPIC: 'bench-jobs',
    }),
  })),
  // NATS JetStream (issue 25): Jack against a minimal Node publisher that
  // awaits each PubAck on the same stream (same subject, headers, Nats-Msg-Id).
  {
    id: 'nats64',
    group: 'nats',
    name: 'Enqueue NATS JetStream 1 KiB c=64',
    method: 'Enqueue',
    concurrency: 64,
    needs: ['nats'],
    target: { ratio: 0.85 },
    env: (ctx) => ({ QUEUE_BACKEND: 'nats', NATS_URL: ctx.natsUrl, NATS_STREAM: 'BENCH' }),
    baselineEnv: (ctx) => ({ BASELINE_NATS_URL: ctx.natsUrl }),
  },
  // The same, with the publisher also skipping the client's async stack
  // traces (noAsyncTraces), as Jack does: Jack's own cost on NATS.
  {
    id: 'nats64-lean',
    group: 'nats',
    name: 'Enqueue NATS JetStream 1 KiB c=64, publisher with noAsyncTraces',
    method: 'Enqueue',
    concurrency: 64,
    needs: ['nats'],
    env: (ctx) => ({ QUEUE_BACKEND: 'nats', NATS_URL: ctx.natsUrl, NATS_STREAM: 'BENCH' }),
    baselineEnv: (ctx) => ({ BASELINE_NATS_URL: ctx.natsUrl, BASELINE_NATS_NO_TRACES: '1' }),
  },
  // EnqueueBulk(100) on NATS (issue 25): every job published and its PubAck
  // awaited before the answer, Jack against the same in the minimal publisher.
  {
    id: 'nats-bulk',
    group: 'nats',
    name: 'EnqueueBulk(100) NATS JetStream c=16',
    method: 'EnqueueBulk',
    jobsPerCall: 100,
    concurrency: 16,
    needs: ['nats'],
    target: { ratio: 0.85 },
    env: (ctx) => ({ QUEUE_BACKEND: 'nats', NATS_URL: ctx.natsUrl, NATS_STREAM: 'BENCH' }),
    baselineEnv: (ctx) => ({ BASELINE_NATS_URL: ctx.natsUrl }),
  },
  // The job ledger (issue 23): Jack with a ledger against Jack with JOB_LEDGER=off.
  {
    id: 'ledger-memory',
    group: 'ledger',
    name: 'Enqueue c=64, JOB_LEDGER=memory vs off',
    method: 'Enqueue',
    concurrency: 64,
    target: { ratio: 0.95 },
    env: () => ({ JOB_LEDGER: 'memory' }),
    ...LEDGER_OFF,
  },
  {
    // The same path keeping 1 000 records instead of 100 000: what is left
    // of the gap to ledger-memory is the cost of holding the records (GC).
    id: 'ledger-memory-small',
    group: 'ledger',
    name: 'Enqueue c=64, JOB_LEDGER=memory LEDGER_MAX_JOBS=1000 vs off',
    method: 'Enqueue',
    concurrency: 64,
    env: () => ({ JOB_LEDGER: 'memory', LEDGER_MAX_JOBS: '1000' }),
    ...LEDGER_OFF,
  },
  {
    // The required work of JOB_LEDGER=memory: the bare server keeping a
    // record per job in a Map of 100 000, the oldest dropped first.
    id: 'ledger-memory-floor',
    group: 'ledger',
    name: 'Enqueue c=64, JOB_LEDGER=memory vs a bare server keeping 100 000 records',
    method: 'Enqueue',
    concurrency: 64,
    env: () => ({ JOB_LEDGER: 'memory' }),
    baselineEnv: () => ({ BASELINE_MEMORY_RECORDS: '100000' }),
  },
  {
    id: 'ledger-postgres',
    group: 'ledger',
    name: 'Enqueue c=64, JOB_LEDGER=postgres vs off',
    method: 'Enqueue',
    concurrency: 64,
    needs: ['postgres'],
    target: { ratio: 0.8 },
    env: postgresLedger,
    verify: ledgerInPostgres,
    ...LEDGER_OFF,
  },
  {
    id: 'ledger-postgres-bulk',
    group: 'ledger',
    name: 'EnqueueBulk(100) c=16, JOB_LEDGER=postgres vs off',
    method: 'EnqueueBulk',
    jobsPerCall: 100,
    concurrency: 16,
    needs: ['postgres'],
    target: { ratio: 0.8 },
    env: postgresLedger,
    verify: ledgerInPostgres,
    ...LEDGER_OFF,
  },
  // The required work of the PostgreSQL rows: Jack on JOB_LEDGER=postgres
  // against the bare server inserting the same records into a table of the
  // same schema (one INSERT per event-loop turn) before it answers — how
  // close Jack is to what writing a record per job costs on this machine.
  {
    id: 'ledger-postgres-floor',
    group: 'ledger',
    name: 'Enqueue c=64, JOB_LEDGER=postgres vs a bare server writing the records',
    method: 'Enqueue',
    concurrency: 64,
    needs: ['postgres'],
    env: postgresLedger,
    baselineEnv: (ctx) => ({ BASELINE_POSTGRES_URL: ctx.postgresUrl }),
  },
  {
    id: 'ledger-postgres-bulk-floor',
    group: 'ledger',
    name: 'EnqueueBulk(100) c=16, JOB_LEDGER=postgres vs a bare server writing the records',
    method: 'EnqueueBulk',
    jobsPerCall: 100,
    concurrency: 16,
    needs: ['postgres'],
    env: postgresLedger,
    baselineEnv: (ctx) => ({ BASELINE_POSTGRES_URL: ctx.postgresUrl }),
  },
  {
    // One call at a time: the p50/p99 difference is the latency the write adds.
    id: 'ledger-postgres-c1',
    group: 'ledger',
    name: 'Enqueue c=1, JOB_LEDGER=postgres vs off (latency)',
    method: 'Enqueue',
    concurrency: 1,
    needs: ['postgres'],
    env: postgresLedger,
    ...LEDGER_OFF,
  },
  // The HTTP transport (issue 26): Jack over HTTP against Jack over gRPC, one process config.
  {
    id: 'http-connect',
    group: 'http',
    name: 'Enqueue c=64, Connect binary h2c vs gRPC',
    method: 'Enqueue',
    concurrency: 64,
    target: { ratio: 0.8 },
    transport: 'connect',
    env: () => HTTP_ON,
    reference: { env: () => HTTP_ON },
  },
  {
    // Jack over Connect against bare connect-node over Connect: what Jack adds
    // to the Connect stack (compare with c64, what Jack adds to grpc-js).
    id: 'http-connect-floor',
    group: 'http',
    name: 'Enqueue c=64, Connect binary h2c: Jack vs bare connect-node',
    method: 'Enqueue',
    concurrency: 64,
    transport: 'connect',
    env: () => HTTP_ON,
    baselineServer: 'connect',
  },
  {
    id: 'http-json',
    group: 'http',
    name: 'Enqueue c=64, Connect JSON HTTP/1.1 keep-alive vs gRPC',
    method: 'Enqueue',
    concurrency: 64,
    transport: 'json-h1',
    env: () => HTTP_ON,
    reference: { env: () => HTTP_ON },
  },
  {
    id: 'http-port-grpc',
    group: 'http',
    name: 'Enqueue c=64 over gRPC, HTTP_PORT on vs off',
    method: 'Enqueue',
    concurrency: 64,
    target: { ratio: 0.95 },
    env: () => HTTP_ON,
    reference: { env: () => ({}) },
  },
];
