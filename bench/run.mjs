/**
 * `make bench`: Jack against a bare grpc-js baseline on the same Node binary.
 * Every row of bench/scenarios.mjs is measured in rounds. A round starts a
 * FRESH baseline and a FRESH Jack (nothing carries over from another round
 * or scenario), warms both up in alternating chunks, then measures them in
 * alternating short windows (A B, B A, A B, …). Each window of Jack is
 * compared with the baseline window next to it in time: on a shared VM the
 * speed of a core drifts by ±20 % within tens of seconds, which decided the
 * old method's result (10 s slices per fresh process, A B B A); adjacent
 * windows see the same machine (docs/performance.md). The ratio is the
 * median of those window pairs.
 * Servers are pinned to CPU 0, the load generator (and Redis, the Pub/Sub
 * emulator) to CPU 1 when taskset and two CPUs exist. Jack starts with its
 * producer and job type registered in a CONFIG_DIR, metrics on, as in
 * production. Prints a Markdown report with each figure and Jack / baseline.
 * A scenario whose feature is missing prints "n/a (reason)". Needs `make build`.
 *
 * Knobs (env): BENCH_WARMUP_SECONDS (20) warm-up load per server and round,
 * BENCH_WINDOW_SECONDS (2) and BENCH_WINDOWS (6) measured windows per server
 * and round, BENCH_ROUNDS (2) rounds per scenario,
 * BENCH_STARTS (5) start-up pairs, BENCH_QUICK=1 (1 s windows, 0.5 s warm-up,
 * one round: checks the bench works, figures mean nothing),
 * BENCH_GENERATOR (h2load | grpc-js), BENCH_SKIP_PUBSUB=1, BENCH_OUT (JSON file),
 * BENCH_ONLY (comma list of `start` and scenario ids or groups; default all),
 * BENCH_BASELINE (`bare`, the default, or `required`: compare Jack with
 * bench/required-work-server.mjs, the bare server plus only the work the
 * SPEC asks of a call, to separate the cost of Jack's design from the cost
 * of the work; the targets do not apply then).
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
  GRPC_TRANSPORT,
  grpcFrame,
  hasCommand,
  healthServing,
  openHttp2Load,
  perfInstructionsSupported,
  processCpuSeconds,
  processMemory,
  rawUnary,
  runGrpcJsLoad,
  runH2load,
  startBenchPostgres,
  startNats,
  startOtlpStub,
  startPubSubEmulator,
  startRedis,
  startServer,
  TRANSPORTS,
  toMetadata,
  verifyHttpOk,
  verifyStatusOk,
  writeConfigDir,
} from './lib.mjs';
import { renderReport } from './report.mjs';
import { enqueueRequest, SCENARIOS } from './scenarios.mjs';

const QUICK = process.env.BENCH_QUICK === '1';
/**
 * Warm-up per server: a fresh Node server's CPU per call keeps falling for
 * 10-20 s of load (JIT tiers, young-generation growth), Jack's longer than
 * the baseline's; measured with bench/warmup-curve.mjs.
 */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? (QUICK ? 0.5 : 20));
const WARMUP_CHUNK_SECONDS = 2;
const WINDOW_SECONDS = Number(process.env.BENCH_WINDOW_SECONDS ?? (QUICK ? 1 : 2));
const WINDOWS = Number(process.env.BENCH_WINDOWS ?? (QUICK ? 1 : 6));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : 2));
const STARTS = Number(process.env.BENCH_STARTS ?? (QUICK ? 1 : 5));
const SIDES = ['baseline', 'jack'];
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
const BASELINES = {
  bare: 'baseline-server.mjs',
  required: 'required-work-server.mjs',
};
const baselineKind = process.env.BENCH_BASELINE ?? 'bare';
if (BASELINES[baselineKind] === undefined) {
  process.stderr.write(`[bench] BENCH_BASELINE=${baselineKind}: use bare or required\n`);
  process.exit(1);
}
const baselineJs = join(root, 'bench', BASELINES[baselineKind]);
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

/** `HTTP_PORT: 'free'` in a row's env: Jack's HTTP transport on a free port. */
function startJack(extraEnv = {}) {
  return freePort().then(async (port) => {
    const metricsPort = await freePort();
    const httpPort = extraEnv.HTTP_PORT === 'free' ? await freePort() : undefined;
    if (httpPort !== undefined) extraEnv = { ...extraEnv, HTTP_PORT: String(httpPort) };
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
    return { ...server, metricsPort, httpPort };
  });
}

/** Any well-formed Enqueue: the baseline answers every one with its constant. */
const PROBE = Buffer.from(EnqueueRequest.encode(enqueueRequest('prod_00000000')).finish());

async function startBaseline(extraEnv = {}, script = baselineJs) {
  const port = await freePort();
  const server = await startServer({
    name: 'baseline',
    argv: [process.execPath, '--import', probe, script],
    env: { ...baseEnv(), GRPC_PORT: String(port), ...extraEnv },
    cpu: serverCpu,
    address: `127.0.0.1:${port}`,
    ready: (client) => rawUnary(client, PATHS.Enqueue, PROBE, 1_000),
  });
  // The Connect floor serves HTTP on its one port.
  return { ...server, httpPort: port };
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
  const transport = TRANSPORTS[scenario.transport ?? 'grpc'];
  if (transport === GRPC_TRANSPORT) return { body, file };
  // Jack's side speaks HTTP: an unframed protobuf, or its proto3 JSON.
  const json = { ...job, payload: job.payload.toString('base64') };
  const jackBody = transport.json
    ? Buffer.from(
        JSON.stringify(
          scenario.method === 'EnqueueBulk'
            ? { jobs: Array.from({ length: scenario.jobsPerCall }, () => json) }
            : json,
        ),
      )
    : Buffer.from(message);
  const jackFile = join(tmp, `${scenario.id}.jack.bin`);
  await writeFile(jackFile, jackBody);
  return { body, file, jackBody, jackFile };
}

/** The wire a side is loaded over: a row's `transport` is Jack's; a reference speaks gRPC. */
const transportOf = (scenario, side) =>
  side === 'jack' || scenario.baselineServer === 'connect'
    ? TRANSPORTS[scenario.transport ?? 'grpc']
    : GRPC_TRANSPORT;

let runNumber = 0;

/** A load generator bound to one server: `run(seconds)` loads it for one window. */
function openGenerator(server, scenario, request, side) {
  const path = PATHS[scenario.method];
  const transport = transportOf(scenario, side);
  if (scenario.request !== undefined) {
    return openHttp2Load({
      address: server.address,
      path,
      scenarioId: scenario.id,
      ctx: request.ctx,
      metadata: request.metadata,
      concurrency: scenario.concurrency,
      cpu: generatorCpu,
    });
  }
  const run = h2load
    ? async (seconds) => {
        const logFile = join(tmp, `h2load-${++runNumber}.log`);
        const result = await runH2load({
          url: transport.http
            ? `http://127.0.0.1:${server.httpPort}${path}`
            : `http://${server.address}${path}`,
          bodyFile: transport.http ? request.jackFile : request.file,
          transport,
          concurrency: scenario.concurrency,
          seconds,
          cpu: generatorCpu,
          logFile,
          metadata: request.metadata,
        });
        await rm(logFile, { force: true });
        return result;
      }
    : (seconds) =>
        runGrpcJsLoad({
          address: server.address,
          path,
          message: request.body.subarray(5),
          concurrency: scenario.concurrency,
          seconds,
          cpu: generatorCpu,
        });
  return { run, close: async () => {} };
}

function startSide(side, scenario, ctx) {
  if (side === 'jack') return startJack(scenario.env?.(ctx) ?? {});
  // A row with a `reference` compares Jack with Jack in another configuration.
  if (scenario.reference !== undefined) return startJack(scenario.reference.env(ctx));
  if (scenario.baselineServer === 'connect') {
    return startBaseline({}, join(root, 'bench', 'connect-baseline-server.mjs'));
  }
  // The required-work server keeps idempotency keys where Jack does (Redis rows).
  const redisUrl = baselineKind === 'required' ? scenario.env?.(ctx).REDIS_URL : undefined;
  return startBaseline({
    ...(scenario.baselineEnv?.(ctx) ?? {}),
    ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }),
  });
}

/** One measured window of one server: its load, CPU, peak RSS (and instructions where perf counts). */
async function measureWindow(server, generator, seconds) {
  const cpuBefore = processCpuSeconds(server.pid);
  const instructions = perf ? countInstructions(server.pid) : undefined;
  let peakRss = processMemory(server.pid).rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, processMemory(server.pid).rss);
  }, 200);
  const result = await generator.run(seconds).finally(() => clearInterval(sampler));
  const cpuSeconds = processCpuSeconds(server.pid) - cpuBefore;
  const instructionCount = await instructions?.stop();
  if (result.failed > 0) {
    throw new Error(
      `${server.name}: ${result.failed} calls failed${result.firstError ? ` (${result.firstError})` : ''}`,
    );
  }
  return { ...result, cpuSeconds, instructionCount, peakRss };
}

const sum = (list, key) => list.reduce((total, item) => total + (item[key] ?? 0), 0);

/** A side's figures over its windows of one round. */
function aggregate(windows, scenario, extra) {
  const jobsPerCall = scenario.jobsPerCall ?? 1;
  const calls = sum(windows, 'calls');
  const wall = sum(windows, 'wall');
  const cpuSeconds = sum(windows, 'cpuSeconds');
  const instructions = perf ? sum(windows, 'instructionCount') : undefined;
  return {
    calls,
    callsPerSecond: calls / wall,
    jobsPerSecond: (calls * jobsPerCall) / wall,
    p50Ms: median(windows.map((w) => w.p50Ms)),
    p99Ms: median(windows.map((w) => w.p99Ms)),
    serverCpuPercent: (100 * cpuSeconds) / wall,
    generatorCpuPercent: (100 * sum(windows, 'generatorCpu')) / wall,
    serverCpuMicrosPerJob: (1e6 * cpuSeconds) / (calls * jobsPerCall),
    instructionsPerJob:
      instructions === undefined ? undefined : instructions / (calls * jobsPerCall),
    peakRss: Math.max(...windows.map((w) => w.peakRss)),
    warmupSeconds: WARMUP_SECONDS,
    ...extra,
  };
}

/** Every call the generator counted as OK must have been a gRPC OK in Jack's own counter. */
async function checkJackCounts(jack, method, before, calls) {
  const after = await callCounts(jack.metricsPort, method);
  for (const [code, count] of after) {
    const delta = count - (before.get(code) ?? 0);
    if (code !== 'OK' && delta > 0)
      throw new Error(`Jack answered ${delta} ${method} calls ${code}`);
    if (code === 'OK' && delta < calls) {
      throw new Error(`Jack counted ${delta} OK ${method} calls, the generator ${calls}`);
    }
  }
}

/**
 * One round: a fresh baseline and a fresh Jack, both warmed up (alternating
 * chunks), then WINDOWS windows each, alternating A B, B A, … so that each
 * Jack window has a baseline window next to it. Returns each side's figures
 * and the Jack / baseline ratio of every window pair.
 */
async function round(scenario, request, ctx) {
  const servers = {};
  const generators = {};
  try {
    for (const side of SIDES) {
      servers[side] = await startSide(side, scenario, ctx);
      if (transportOf(scenario, side).http) {
        await verifyHttpOk(
          `http://127.0.0.1:${servers[side].httpPort}${PATHS[scenario.method]}`,
          transportOf(scenario, side),
          request.jackBody,
          request.metadata,
        );
      } else if (request.body !== undefined) {
        await verifyStatusOk(
          servers[side].address,
          PATHS[scenario.method],
          request.body,
          request.metadata,
        );
      }
      generators[side] = openGenerator(servers[side], scenario, request, side);
    }
    const idleRss = Object.fromEntries(
      SIDES.map((side) => [side, processMemory(servers[side].pid).rss]),
    );
    for (let spent = 0; spent < WARMUP_SECONDS; spent += WARMUP_CHUNK_SECONDS) {
      const chunk = Math.min(WARMUP_CHUNK_SECONDS, WARMUP_SECONDS - spent);
      for (const side of SIDES) await generators[side].run(chunk);
    }
    const method = scenario.method;
    const jacks = scenario.reference === undefined ? ['jack'] : SIDES;
    const countsBefore = {};
    for (const side of jacks)
      countsBefore[side] = await callCounts(servers[side].metricsPort, method);
    const windows = { baseline: [], jack: [] };
    for (let w = 0; w < WINDOWS; w++) {
      for (const side of w % 2 === 0 ? SIDES : [...SIDES].reverse()) {
        windows[side].push(await measureWindow(servers[side], generators[side], WINDOW_SECONDS));
      }
    }
    for (const side of jacks) {
      await checkJackCounts(servers[side], method, countsBefore[side], sum(windows[side], 'calls'));
    }
    const memory = {};
    for (const side of SIDES)
      memory[side] = scenario.rss ? await memoryBreakdown(servers[side]) : undefined;
    // A gRPC error is an HTTP 200 to h2load: the baseline counts its own and prints them at exit.
    if (scenario.reference === undefined) {
      await servers.baseline.stop();
      const failed = /baseline failed calls: (\d+)/.exec(servers.baseline.stderr())?.[1];
      if (failed !== '0') throw new Error(`the baseline failed ${failed ?? '?'} calls`);
    }
    const sides = Object.fromEntries(
      SIDES.map((side) => [
        side,
        aggregate(windows[side], scenario, { idleRss: idleRss[side], memory: memory[side] }),
      ]),
    );
    const ratios = windows.jack.map(
      (j, w) => j.calls / j.wall / (windows.baseline[w].calls / windows.baseline[w].wall),
    );
    return { sides, ratios };
  } finally {
    await Promise.all(Object.values(generators).map((g) => g.close()));
    await Promise.all(Object.values(servers).map((server) => server.stop()));
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
    if (name === 'nats') return startNats(generatorCpu);
    if (name === 'postgres') return startBenchPostgres(generatorCpu);
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
    } else if (need === 'nats') {
      ctx.natsUrl = c.url;
    } else if (need === 'postgres') {
      ctx.postgresUrl = c.url;
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
  const runs = { baseline: [], jack: [] };
  const pairRatios = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const { sides, ratios } = await round(scenario, request, ctx);
    pairRatios.push(...ratios);
    for (const side of SIDES) {
      const result = sides[side];
      runs[side].push(result);
      log(
        `${scenario.name} round ${r} ${side}: ${result.callsPerSecond.toFixed(0)} calls/s, ` +
          `p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms, ` +
          `server CPU ${result.serverCpuPercent.toFixed(0)}% (${result.serverCpuMicrosPerJob.toFixed(1)} µs/job), ` +
          `generator CPU ${result.generatorCpuPercent.toFixed(0)}%, peak RSS ${(result.peakRss / 2 ** 20).toFixed(0)} MiB`,
      );
    }
    log(
      `${scenario.name} round ${r}: Jack / baseline per window pair ${ratios.map((x) => x.toFixed(2)).join(' ')}`,
    );
  }
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
  const sorted = [...pairRatios].sort((a, b) => a - b);
  const quantile = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    ...scenario,
    generator: scenario.request !== undefined ? 'node:http2' : h2load ? 'h2load' : 'grpc-js',
    baseline: summary('baseline'),
    jack: summary('jack'),
    pairRatio: median(pairRatios),
    pairRatioIqr: [quantile(0.25), quantile(0.75)],
    pairs: pairRatios.length,
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
    ROUNDS,
    WINDOWS,
    WINDOW_SECONDS,
    WARMUP_SECONDS,
    QUICK,
    STARTS,
    perf,
    baseline: baselineKind,
  }),
);
if (process.env.BENCH_OUT) {
  await writeFile(process.env.BENCH_OUT, JSON.stringify({ ...results, perf }, null, 2));
}
