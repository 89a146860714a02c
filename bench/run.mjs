/**
 * `make bench`: Jack against a bare grpc-js baseline on the same Node binary.
 * Every row of bench/scenarios.mjs is measured in slices; each slice is a
 * FRESH server process (nothing carries over from another slice or another
 * scenario), warmed up, then measured; slices alternate A B B A (baseline,
 * Jack, Jack, baseline) so a drift of the machine hits both sides alike.
 * Servers are pinned to CPU 0, the load generator (and Redis, the Pub/Sub
 * emulator) to CPU 1 when taskset and two CPUs exist. Jack starts with its
 * producer and job type registered in a CONFIG_DIR, metrics on, as in
 * production. Prints a Markdown report with each figure and Jack / baseline.
 * A scenario whose feature is missing prints "n/a (reason)". Needs `make build`.
 *
 * Knobs (env): BENCH_SECONDS (10) measured seconds per slice,
 * BENCH_WARMUP_SECONDS (3) minimum warm-up, BENCH_WARMUP_MAX_SECONDS (30): warm-up goes
 * on in 2 s chunks until the server's CPU per call is steady (two chunks within 5 %),
 * BENCH_ROUNDS (2) A B B A groups per scenario,
 * BENCH_STARTS (5) start-up pairs, BENCH_QUICK=1 (1 s slices, 0.5 s warm-up,
 * one A B pair: checks the bench works, figures mean nothing),
 * BENCH_GENERATOR (h2load | grpc-js), BENCH_SKIP_PUBSUB=1, BENCH_OUT (JSON file),
 * BENCH_ONLY (comma list of `start` and scenario ids or groups; default all).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import grpc from '@grpc/grpc-js';
import { AdminServiceClient } from '../dist/gen/jack/admin.js';
import { EnqueueBulkRequest, EnqueueRequest } from '../dist/gen/jack/jack.js';
import {
  countInstructions,
  ensureH2load,
  freePort,
  grpcFrame,
  hasCommand,
  healthServing,
  perfInstructionsSupported,
  processCpuSeconds,
  processMemory,
  rawUnary,
  runGrpcJsLoad,
  runH2load,
  runHttp2Load,
  startOtlpStub,
  startPubSubEmulator,
  startRedis,
  startServer,
  toMetadata,
  verifyStatusOk,
  writeConfigDir,
} from './lib.mjs';
import { renderReport } from './report.mjs';
import { enqueueRequest, SCENARIOS } from './scenarios.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
const SECONDS = Number(process.env.BENCH_SECONDS ?? (QUICK ? 1 : 10));
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? (QUICK ? 0.5 : 3));
const WARMUP_MAX_SECONDS = Math.max(
  WARMUP_SECONDS,
  Number(process.env.BENCH_WARMUP_MAX_SECONDS ?? (QUICK ? 0.5 : 30)),
);
/** Warm-up chunk, and how close two chunks' CPU per call must be to call the server warm. */
const WARMUP_CHUNK_SECONDS = 2;
const WARM_TOLERANCE = 0.05;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 2));
const STARTS = Number(process.env.BENCH_STARTS ?? (QUICK ? 1 : 5));
/**
 * BENCH_REUSE=1 reproduces the old method (one process per side for all of a
 * scenario's slices, A B A B) to show what it changes (docs/PERFORMANCE.md).
 */
const REUSE = process.env.BENCH_REUSE === '1';
/** A B B A per round; the quick mode only checks that every path works. */
const ORDER = QUICK || REUSE ? ['baseline', 'jack'] : ['baseline', 'jack', 'jack', 'baseline'];
const ONLY =
  process.env.BENCH_ONLY === undefined ? undefined : new Set(process.env.BENCH_ONLY.split(','));
const selected = (id, group) =>
  ONLY === undefined || ONLY.has(id) || (group !== undefined && ONLY.has(group));
const PATHS = {
  Enqueue: '/jack.BackgroundJobs/Enqueue',
  EnqueueBulk: '/jack.BackgroundJobs/EnqueueBulk',
};

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mainJs = join(root, 'dist', 'main.js');
const baselineJs = join(root, 'bench', 'baseline-server.mjs');
const probe = pathToFileURL(join(root, 'bench', 'memory-probe.mjs')).href;
const log = (text) => process.stderr.write(`[bench] ${text}\n`);

if (!existsSync(mainJs)) {
  log(`${mainJs} is missing: run 'make build' first (make bench does)`);
  process.exit(1);
}

const twoCpus = availableParallelism() >= 2 && hasCommand('taskset');
const serverCpu = twoCpus ? 0 : undefined;
const generatorCpu = twoCpus ? 1 : undefined;
const h2load = process.env.BENCH_GENERATOR !== 'grpc-js' && ensureH2load(log);
if (!h2load) {
  log(
    'h2load unavailable: falling back to the multi-process grpc-js generator (it may be the bottleneck)',
  );
}
const perf = perfInstructionsSupported();
if (!perf) log('perf stat -e instructions is not supported here: instructions per job are n/a');
const tmp = await mkdtemp(join(tmpdir(), 'jack-bench-'));
process.env.BENCH_TMP = tmp;

/** Only what a server needs: none of the caller's JACK/PUBSUB variables leak in. */
const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmp });

// The registered producer and job type every scenario sends as, plus one
// producer limited to 1 job/s that proves a rate limiter is on.
const PRODUCER_ID = 'prod_0000be4c';
const LIMITED_PRODUCER_ID = 'prod_0000be41';
const configDir = join(tmp, 'config');
// High enough never to refuse: the rate-limit rows measure the limiter, not refusals.
await writeConfigDir(configDir, [
  { producerId: PRODUCER_ID, rateLimitRps: 100_000_000 },
  { producerId: LIMITED_PRODUCER_ID, rateLimitRps: 1 },
]);

function startJack(extraEnv = {}) {
  return freePort().then(async (port) => {
    const metricsPort = await freePort();
    const server = await startServer({
      name: 'jack',
      argv: [process.execPath, '--import', probe, mainJs],
      env: {
        ...baseEnv(),
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(port),
        METRICS_PORT: String(metricsPort),
        CONFIG_DIR: configDir,
        LOG_LEVEL: 'info',
        ...extraEnv,
      },
      cpu: serverCpu,
      address: `127.0.0.1:${port}`,
      ready: healthServing,
    });
    return { ...server, metricsPort };
  });
}

/** Any well-formed Enqueue: the baseline answers every one with its constant. */
const PROBE = Buffer.from(EnqueueRequest.encode(enqueueRequest('prod_00000000')).finish());

async function startBaseline(extraEnv = {}) {
  const port = await freePort();
  return startServer({
    name: 'baseline',
    argv: [process.execPath, '--import', probe, baselineJs],
    env: { ...baseEnv(), GRPC_PORT: String(port), ...extraEnv },
    cpu: serverCpu,
    address: `127.0.0.1:${port}`,
    ready: (client) => rawUnary(client, PATHS.Enqueue, PROBE, 1_000),
  });
}

/** What scenarios' prepare/verify hooks use to talk to a running Jack. */
function handleOf(server) {
  const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
  const admin = new AdminServiceClient(server.address, grpc.credentials.createInsecure());
  return {
    enqueue: (request, metadata) =>
      rawUnary(
        client,
        PATHS.Enqueue,
        Buffer.from(EnqueueRequest.encode(request).finish()),
        5_000,
        metadata,
      ),
    admin: (method, request, metadata = {}) =>
      new Promise((resolve, reject) =>
        admin[method](request, toMetadata(metadata), (err, response) =>
          err ? reject(err) : resolve(response),
        ),
      ),
    close() {
      client.close();
      admin.close();
    },
  };
}

/** Jack's calls counter for one method, by status code. */
async function callCounts(metricsPort, method) {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const counts = new Map();
  const pattern = /^jack_grpc_calls_total\{method="([^"]+)",code="([^"]+)"\} (\S+)$/gm;
  for (const match of text.matchAll(pattern)) {
    if (match[1] === method) counts.set(match[2], Number(match[3]));
  }
  return counts;
}

/** Asks a server (preloaded with memory-probe.mjs) for its memory breakdown. */
async function memoryBreakdown(server) {
  const before = server.stderr().length;
  process.kill(server.pid, 'SIGUSR2');
  for (let i = 0; i < 50; i++) {
    const match = /MEMORY (\{.*\})\n/.exec(server.stderr().slice(Math.max(0, before - 1)));
    if (match !== null) return JSON.parse(match[1]);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

/** Bodies (gRPC frame + protobuf) of a fixed-request scenario, written for h2load. */
async function fixedBody(scenario) {
  const job = enqueueRequest(scenario.producerId ?? PRODUCER_ID);
  const message =
    scenario.method === 'EnqueueBulk'
      ? EnqueueBulkRequest.encode({
          jobs: Array.from({ length: scenario.jobsPerCall }, () => job),
        }).finish()
      : EnqueueRequest.encode(job).finish();
  const body = grpcFrame(message);
  const file = join(tmp, `${scenario.id}.bin`);
  await writeFile(file, body);
  return { body, file };
}

let runNumber = 0;

function generate(server, scenario, request, seconds) {
  const path = PATHS[scenario.method];
  if (scenario.request !== undefined) {
    return runHttp2Load({
      address: server.address,
      path,
      scenarioId: scenario.id,
      ctx: request.ctx,
      metadata: request.metadata,
      concurrency: scenario.concurrency,
      seconds,
      cpu: generatorCpu,
    });
  }
  if (h2load) {
    return runH2load({
      url: `http://${server.address}${path}`,
      bodyFile: request.file,
      concurrency: scenario.concurrency,
      seconds,
      cpu: generatorCpu,
      logFile: join(tmp, `h2load-${++runNumber}.log`),
      metadata: request.metadata,
    });
  }
  return runGrpcJsLoad({
    address: server.address,
    path,
    message: request.body.subarray(5),
    concurrency: scenario.concurrency,
    seconds,
    cpu: generatorCpu,
  });
}

function startSide(side, scenario, ctx) {
  return side === 'jack'
    ? startJack(scenario.env?.(ctx) ?? {})
    : startBaseline(scenario.baselineEnv?.(ctx) ?? {});
}

/**
 * Loads a fresh server until it is warm: at least WARMUP_SECONDS, then 2 s
 * chunks until two in a row cost the same server CPU per call (within 5 %),
 * at most WARMUP_MAX_SECONDS. A fresh Node server's CPU per call keeps
 * falling for tens of thousands of calls (JIT tiers, young-generation
 * growth), so a fixed short warm-up measures part of that descent, and
 * the two sides descend at different speeds (docs/PERFORMANCE.md).
 * Returns the seconds spent.
 */
async function warmUp(server, scenario, request) {
  let spent = 0;
  if (WARMUP_SECONDS > 0) {
    await generate(server, scenario, request, WARMUP_SECONDS);
    spent += WARMUP_SECONDS;
  }
  let previous;
  while (spent + WARMUP_CHUNK_SECONDS <= WARMUP_MAX_SECONDS) {
    const cpuBefore = processCpuSeconds(server.pid);
    const chunk = await generate(server, scenario, request, WARMUP_CHUNK_SECONDS);
    spent += WARMUP_CHUNK_SECONDS;
    const perCall = (processCpuSeconds(server.pid) - cpuBefore) / Math.max(1, chunk.calls);
    if (previous !== undefined && Math.abs(perCall - previous) <= WARM_TOLERANCE * previous) break;
    previous = perCall;
  }
  return spent;
}

/**
 * One slice: a fresh server (or, with BENCH_REUSE, the scenario's running
 * one), warm-up, the measured window (CPU, RSS, perf), stop.
 */
async function slice(side, scenario, request, state) {
  const server = state.reused?.[side] ?? (await startSide(side, scenario, state.ctx));
  try {
    if (request.body !== undefined) {
      await verifyStatusOk(server.address, PATHS[scenario.method], request.body, request.metadata);
    }
    const idleRss = processMemory(server.pid).rss;
    const warmupSeconds = await warmUp(server, scenario, request);
    const method = scenario.method;
    const countsBefore =
      server.metricsPort === undefined ? undefined : await callCounts(server.metricsPort, method);
    const cpuBefore = processCpuSeconds(server.pid);
    const instructions = perf ? countInstructions(server.pid) : undefined;
    let peakRss = processMemory(server.pid).rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, processMemory(server.pid).rss);
    }, 200);
    const result = await generate(server, scenario, request, SECONDS);
    clearInterval(sampler);
    const cpuSeconds = processCpuSeconds(server.pid) - cpuBefore;
    const instructionCount = await instructions?.stop();
    const memory = scenario.rss ? await memoryBreakdown(server) : undefined;
    if (result.failed > 0) {
      throw new Error(
        `${server.name}: ${result.failed} calls failed${result.firstError ? ` (${result.firstError})` : ''}`,
      );
    }
    if (countsBefore !== undefined) {
      // Every call the generator counted as OK must have been a gRPC OK.
      const countsAfter = await callCounts(server.metricsPort, method);
      for (const [code, after] of countsAfter) {
        const delta = after - (countsBefore.get(code) ?? 0);
        if (code !== 'OK' && delta > 0)
          throw new Error(`Jack answered ${delta} ${method} calls ${code}`);
        if (code === 'OK' && delta < result.calls) {
          throw new Error(
            `Jack counted ${delta} OK ${method} calls, the generator ${result.calls}`,
          );
        }
      }
    }
    if (side === 'baseline' && state.reused === undefined) {
      // A gRPC error is an HTTP 200 to h2load: the baseline counts its own.
      await server.stop();
      const failed = /baseline failed calls: (\d+)/.exec(server.stderr())?.[1];
      if (failed !== '0') throw new Error(`the baseline failed ${failed ?? '?'} calls`);
    }
    const jobs = result.calls * (scenario.jobsPerCall ?? 1);
    return {
      ...result,
      jobsPerSecond: result.callsPerSecond * (scenario.jobsPerCall ?? 1),
      serverCpuPercent: (100 * cpuSeconds) / result.wall,
      generatorCpuPercent: (100 * result.generatorCpu) / result.wall,
      serverCpuMicrosPerJob: (1e6 * cpuSeconds) / jobs,
      instructionsPerJob: instructionCount === undefined ? undefined : instructionCount / jobs,
      idleRss,
      peakRss,
      memory,
      warmupSeconds,
    };
  } finally {
    if (state.reused === undefined) await server.stop();
  }
}

const median = (values) => {
  const sorted = values.filter((v) => v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Components the selected scenarios need, started once, on the generator's CPU. */
const components = {};
async function component(name) {
  if (name in components) return components[name];
  components[name] = await (async () => {
    if (name === 'redis') return startRedis(generatorCpu);
    if (name === 'otlp') return startOtlpStub();
    if (name === 'pubsub') {
      if (process.env.BENCH_SKIP_PUBSUB === '1') throw new Error('BENCH_SKIP_PUBSUB=1');
      return startPubSubEmulator({ cpu: generatorCpu });
    }
    throw new Error(`unknown component ${name}`);
  })();
  if (components[name] === undefined) throw new Error(`${name} is not installed`);
  return components[name];
}

async function runScenario(scenario) {
  const ctx = { producerId: PRODUCER_ID, limitedProducerId: LIMITED_PRODUCER_ID };
  for (const need of scenario.needs ?? []) {
    const c = await component(need);
    if (need === 'redis') {
      ctx.redisUrl = c.url;
      ctx.redisKeys = c.keys;
    } else if (need === 'otlp') {
      ctx.otlpUrl = c.url;
      ctx.otlpRequests = c.requests;
    } else if (need === 'pubsub') {
      ctx.pubsubHost = c.host;
    }
  }
  const request = scenario.request === undefined ? await fixedBody(scenario) : {};
  request.metadata = {};
  // One throwaway Jack with the scenario's env: checks it starts, creates what
  // the scenario needs (an API key, the Pub/Sub topic), proves the feature is
  // on, and is gone before measuring.
  {
    const env = scenario.env?.(ctx) ?? {};
    const jack = await startJack(
      env.QUEUE_BACKEND === 'pubsub' ? { ...env, PUBSUB_CREATE_TOPICS: 'true' } : env,
    );
    const handle = handleOf(jack);
    try {
      Object.assign(request, (await scenario.prepare?.(ctx, handle)) ?? {});
      await scenario.verify?.(ctx, handle, request.metadata);
    } finally {
      handle.close();
      await jack.stop();
    }
  }
  // The generator process gets plain data only (functions do not cross processes).
  request.ctx = { producerId: ctx.producerId };
  const state = { ctx };
  if (REUSE) {
    state.reused = {
      baseline: await startSide('baseline', scenario, ctx),
      jack: await startSide('jack', scenario, ctx),
    };
  }
  const runs = { baseline: [], jack: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const side of ORDER) {
      const result = await slice(side, scenario, request, state).catch(async (err) => {
        await Promise.all(Object.values(state.reused ?? {}).map((server) => server.stop()));
        throw err;
      });
      runs[side].push(result);
      log(
        `${scenario.name} round ${round} ${side}: ${result.callsPerSecond.toFixed(0)} calls/s, ` +
          `p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ` +
          `server CPU ${result.serverCpuPercent.toFixed(0)}%, generator CPU ${result.generatorCpuPercent.toFixed(0)}%, ` +
          `peak RSS ${(result.peakRss / 2 ** 20).toFixed(0)} MiB, after ${result.warmupSeconds} s warm-up`,
      );
    }
  }
  await Promise.all(Object.values(state.reused ?? {}).map((server) => server.stop()));
  const summary = (side) => {
    const list = runs[side];
    const pick = (key) => median(list.map((r) => r[key]));
    return {
      callsPerSecond: pick('callsPerSecond'),
      jobsPerSecond: pick('jobsPerSecond'),
      p50Ms: pick('p50Ms'),
      p99Ms: pick('p99Ms'),
      serverCpuPercent: pick('serverCpuPercent'),
      generatorCpuPercent: pick('generatorCpuPercent'),
      serverCpuMicrosPerJob: pick('serverCpuMicrosPerJob'),
      instructionsPerJob: pick('instructionsPerJob'),
      idleRss: pick('idleRss'),
      warmupSeconds: pick('warmupSeconds'),
      peakRss: pick('peakRss'),
      memory: list.map((r) => r.memory).filter((m) => m !== undefined),
      rounds: list,
    };
  };
  // Jack / baseline of each slice with its neighbour on the other side, for the spread.
  const ratios = runs.jack.map((j, i) => j.jobsPerSecond / runs.baseline[i].jobsPerSecond);
  return {
    ...scenario,
    generator: scenario.request !== undefined ? 'node:http2' : h2load ? 'h2load' : 'grpc-js',
    baseline: summary('baseline'),
    jack: summary('jack'),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
  };
}

const results = { scenarios: [], started: new Date().toISOString() };
try {
  // Start-up: spawn → first answered call (baseline) / health SERVING (Jack), alternately.
  if (selected('start')) {
    const starts = { baseline: [], jack: [] };
    for (let i = 0; i < STARTS; i++) {
      const baseline = await startBaseline();
      starts.baseline.push(baseline.startMs);
      await baseline.stop();
      const jack = await startJack();
      starts.jack.push(jack.startMs);
      await jack.stop();
    }
    results.startMs = { baseline: median(starts.baseline), jack: median(starts.jack), all: starts };
    log(
      `start-up: baseline ${results.startMs.baseline.toFixed(0)} ms, Jack ${results.startMs.jack.toFixed(0)} ms`,
    );
  }
  for (const scenario of SCENARIOS) {
    if (!selected(scenario.id, scenario.group)) continue;
    try {
      results.scenarios.push(await runScenario(scenario));
    } catch (err) {
      const reason = String(err?.details ?? err?.message ?? err)
        .split('\n')[0]
        .slice(0, 160);
      log(`${scenario.name}: n/a (${reason})`);
      results.scenarios.push({ ...scenario, failed: reason });
    }
  }
} finally {
  await Promise.allSettled(Object.values(components).map((c) => c?.stop()));
  await rm(tmp, { recursive: true, force: true });
}

process.stdout.write(
  renderReport(results, {
    twoCpus,
    REUSE,
    ROUNDS,
    ORDER,
    SECONDS,
    WARMUP_SECONDS,
    WARMUP_MAX_SECONDS,
    QUICK,
    STARTS,
    perf,
  }),
);
if (process.env.BENCH_OUT) {
  await writeFile(process.env.BENCH_OUT, JSON.stringify({ ...results, perf }, null, 2));
}
