/**
 * Jack's own work per call, without the transport: the Enqueue and
 * EnqueueBulk handlers exactly as the composition root binds them (decode,
 * CallContext, interceptors, job service, enqueuer, noop backend, metrics),
 * called in process with a stand-in for grpc-js's call object, 64 (bulk: 16)
 * calls in flight. It prints the CPU per job of each row: the median of 5
 * rounds after a warm-up.
 *
 * Why a second instrument beside `make bench`: it separates Jack's own work
 * from the transport's, which the end-to-end rows cannot. `--evict-kib N`
 * runs one call at a time and reads N KiB of unrelated memory before each
 * (not timed), so every call starts with its code and data out of the
 * core's caches, as under network load, where HTTP/2, nghttp2 and the kernel
 * run between two calls. The hot and the cold figure side by side show how
 * much of a call is cache misses (docs/performance.md, "Where the gap is").
 * Both move by up to ±10 % between runs on this VM: compare medians of
 * repeated runs, and confirm a change with `make bench`.
 *
 *   node bench/pipeline.mjs [--evict-kib N] [--rows enqueue,keyed,bulk] [--calls N]
 * Needs `make build`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import grpc from '@grpc/grpc-js';
import { startApp } from '../dist/app.js';
import { loadConfig } from '../dist/config/index.js';
import { EnqueueBulkRequest, EnqueueRequest } from '../dist/gen/jack/jack.js';
import { createLogger } from '../dist/logger.js';
import { writeConfigDir } from './lib.mjs';
import { enqueueRequest } from './scenarios.mjs';

const { values: options } = parseArgs({
  options: {
    'evict-kib': { type: 'string', default: '0' },
    rows: { type: 'string', default: 'enqueue,keyed,bulk' },
    calls: { type: 'string', default: '100000' },
  },
});
const ROUNDS = 5;
const callsPerRound = Number(options.calls);

// The composition root hands its bound services to grpc-js; catching them
// at addService is what lets this bench call the very handlers Jack serves.
const handlers = {};
const addService = grpc.Server.prototype.addService;
grpc.Server.prototype.addService = function (definition, implementation) {
  Object.assign(handlers, implementation);
  return addService.call(this, definition, implementation);
};

const dir = await mkdtemp(join(tmpdir(), 'jack-pipeline-'));
const producerId = 'prod_0000be4c';
await writeConfigDir(join(dir, 'config'), [{ producerId, rateLimitRps: 100_000_000 }]);
// As `make bench` runs Jack: registered producer, metrics on, noop backend.
const config = loadConfig({
  CONFIG_DIR: join(dir, 'config'),
  GRPC_HOST: '127.0.0.1',
  GRPC_PORT: '0',
  METRICS_PORT: '0',
  LOG_LEVEL: 'info',
});
const app = await startApp(config, createLogger({ level: 'info' }));

const metadata = new grpc.Metadata();
/** What the pipeline reads of a grpc-js unary call. */
const callOf = (request) => ({
  request,
  metadata,
  cancelled: false,
  sendMetadata() {},
  getAuthContext: () => ({}),
  once() {},
});

const evictFloats = Number(options['evict-kib']) * 128;
const unrelated = new Float64Array(Math.max(evictFloats, 8)).fill(1);
let touched = 0;
/** Reads one float per 64-byte line: the caches then hold this instead of Jack. */
function evictCaches() {
  for (let i = 0; i < evictFloats; i += 8) touched += unrelated[i] ?? 0;
}

const single = Buffer.from(EnqueueRequest.encode(enqueueRequest(producerId)).finish());
const bulk = Buffer.from(
  EnqueueBulkRequest.encode({
    jobs: Array.from({ length: 100 }, () => enqueueRequest(producerId)),
  }).finish(),
);
let keyIndex = 0;
const ROWS = {
  enqueue: {
    handler: 'enqueue',
    concurrency: 64,
    jobs: 1,
    request: () => EnqueueRequest.decode(single),
  },
  keyed: {
    handler: 'enqueue',
    concurrency: 64,
    jobs: 1,
    request: () => ({ ...EnqueueRequest.decode(single), idempotencyKey: `pipeline-${keyIndex++}` }),
  },
  bulk: {
    handler: 'enqueueBulk',
    concurrency: 16,
    jobs: 100,
    request: () => EnqueueBulkRequest.decode(bulk),
  },
};

function call(row) {
  return new Promise((resolve, reject) => {
    handlers[row.handler](callOf(row.request()), (err, response) =>
      err ? reject(new Error(err.details)) : resolve(response),
    );
  });
}

/** Hot caches: `row.concurrency` calls in flight; returns CPU µs per call. */
async function driveHot(row, calls) {
  let left = calls;
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: row.concurrency }, async () => {
      while (left-- > 0) await call(row);
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}

/**
 * Cold caches: one call at a time, each after an eviction, timed from its
 * start until its answer (microtasks included, the eviction not). Nothing
 * waits on I/O here, so the wall time of a call is its CPU time.
 */
async function driveCold(row, calls) {
  let total = 0;
  for (let i = 0; i < calls; i++) {
    evictCaches();
    const started = performance.now();
    await call(row);
    total += performance.now() - started;
  }
  return (total * 1000) / calls;
}

const lines = [];
for (const name of options.rows.split(',')) {
  const row = ROWS[name];
  if (row === undefined) throw new Error(`unknown row ${name} (enqueue, keyed, bulk)`);
  const calls = Math.max(1, Math.round(callsPerRound / row.jobs));
  const drive = evictFloats > 0 ? driveCold : driveHot;
  await drive(row, calls); // warm-up: the JIT settles
  const perJob = [];
  for (let round = 0; round < ROUNDS; round++) perJob.push((await drive(row, calls)) / row.jobs);
  perJob.sort((a, b) => a - b);
  lines.push(
    `${name.padEnd(8)} ${perJob[2].toFixed(2).padStart(7)} µs CPU per job (median of ${ROUNDS}; ` +
      `range ${perJob[0].toFixed(2)}–${perJob[4].toFixed(2)})`,
  );
}
await app.shutdown();
await rm(dir, { recursive: true, force: true });
process.stdout.write(
  `Jack's pipeline in process, ${evictFloats > 0 ? `one call at a time, ${options['evict-kib']} KiB (${touched > 0 ? 'read' : 'none'}) evicted before each` : 'hot caches'}:\n${lines.join('\n')}\n`,
);
process.exit(0);
