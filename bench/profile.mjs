/**
 * Profiles Jack's hot path: the built server runs under `node --cpu-prof`
 * (pinned to CPU 0) while h2load drives Enqueue (or EnqueueBulk with
 * `--bulk`) at concurrency 64 from CPU 1; on SIGTERM Node writes the
 * profile, and this script prints the functions with the most self time and
 * the time per source file. Needs `make build` and h2load.
 *   node bench/profile.mjs [--bulk] [--baseline] [--seconds N] [--keep DIR]
 *     [--scenario ID] [--env NAME=VALUE ...]
 * --baseline profiles bench/baseline-server.mjs instead, to compare the two
 * profiles per call. --scenario drives Enqueue with a scenario of
 * scenarios.mjs that builds each call (e.g. `idem`: a fresh idempotency key
 * per call) through the node:http2 generator instead of h2load; --env adds
 * a variable to the server's environment (e.g. REDIS_URL for `idem-redis`).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EnqueueBulkRequest, EnqueueRequest } from '../dist/gen/jack/jack.js';
import {
  ensureH2load,
  freePort,
  grpcFrame,
  healthServing,
  openHttp2Load,
  rawUnary,
  runH2load,
  startServer,
  writeConfigDir,
} from './lib.mjs';
import { enqueueRequest } from './scenarios.mjs';

const { values: options } = parseArgs({
  options: {
    bulk: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '15' },
    keep: { type: 'string' },
    metrics: { type: 'boolean', default: true },
    baseline: { type: 'boolean', default: false },
    scenario: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
  },
});
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (text) => process.stderr.write(`[profile] ${text}\n`);
if (!ensureH2load(log)) throw new Error('h2load is needed for profiling');
const dir = options.keep ?? (await mkdtemp(join(tmpdir(), 'jack-profile-')));
await mkdir(dir, { recursive: true });

// Registered in a CONFIG_DIR, as `make bench` and production do.
const producerId = 'prod_0000be4c';
const configDir = join(dir, 'config');
await writeConfigDir(configDir, [{ producerId }]);

const port = await freePort();
const env = {
  CONFIG_DIR: configDir,
  PATH: process.env.PATH ?? '',
  HOME: process.env.HOME ?? dir,
  GRPC_HOST: '127.0.0.1',
  GRPC_PORT: String(port),
  LOG_LEVEL: 'info',
};
if (options.metrics) env.METRICS_PORT = String(await freePort());
for (const pair of options.env) {
  const at = pair.indexOf('=');
  if (at < 1) throw new Error(`--env ${pair}: use NAME=VALUE`);
  env[pair.slice(0, at)] = pair.slice(at + 1);
}
const jack = await startServer({
  name: 'jack',
  argv: [
    process.execPath,
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    join(root, options.baseline ? 'bench/baseline-server.mjs' : 'dist/main.js'),
  ],
  env,
  cpu: 0,
  address: `127.0.0.1:${port}`,
  ready: options.baseline
    ? (client) =>
        rawUnary(
          client,
          '/jack.BackgroundJobs/Enqueue',
          Buffer.from(EnqueueRequest.encode(enqueueRequest(producerId)).finish()),
          1_000,
        )
    : healthServing,
});

async function drive() {
  const method = options.bulk ? 'EnqueueBulk' : 'Enqueue';
  if (options.scenario !== undefined) {
    const generator = openHttp2Load({
      address: jack.address,
      path: `/jack.BackgroundJobs/${method}`,
      scenarioId: options.scenario,
      ctx: { producerId },
      metadata: {},
      concurrency: 64,
      cpu: 1,
    });
    try {
      return await generator.run(Number(options.seconds));
    } finally {
      await generator.close();
    }
  }
  const job = enqueueRequest(producerId);
  const body = options.bulk
    ? grpcFrame(
        EnqueueBulkRequest.encode({ jobs: Array.from({ length: 100 }, () => job) }).finish(),
      )
    : grpcFrame(EnqueueRequest.encode(job).finish());
  const bodyFile = join(dir, 'body.bin');
  await writeFile(bodyFile, body);
  return runH2load({
    url: `http://${jack.address}/jack.BackgroundJobs/${method}`,
    bodyFile,
    concurrency: 64,
    seconds: Number(options.seconds),
    cpu: 1,
    logFile: join(dir, 'h2load.log'),
  });
}
const result = await drive();
log(`${result.callsPerSecond.toFixed(0)} calls/s under the profiler`);
await jack.stop();

const file = (await readdir(dir)).find((name) => name.endsWith(`.${jack.pid}.0.001.cpuprofile`));
if (file === undefined) throw new Error(`no .cpuprofile in ${dir}`);
const profile = JSON.parse(await readFile(join(dir, file), 'utf8'));

// Self time per node = samples hitting it × mean sample interval.
const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length) / 1000;
const hits = new Map();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const byFunction = new Map();
const byFile = new Map();
let total = 0;
for (const node of profile.nodes) {
  const count = hits.get(node.id) ?? 0;
  if (count === 0) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  let source = url.startsWith('file://') ? relative(root, fileURLToPath(url)) : url;
  source = source.replace(/^node_modules\/(@[^/]+\/[^/]+|[^/]+)\/.*/, 'node_modules/$1');
  const key = `${functionName || '(anonymous)'} ${source || '(native)'}:${lineNumber + 1}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + count);
  const group = source || `(${functionName})`;
  byFile.set(group, (byFile.get(group) ?? 0) + count);
  total += count;
}
const top = (map, n) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, count]) => `${((100 * count) / total).toFixed(1).padStart(5)}%  ${key}`);
const calls = result.calls;
process.stdout.write(
  `profile: ${file}, ${total} samples of ${interval.toFixed(2)} ms, ${calls} calls measured\n\n` +
    `self time by source:\n${top(byFile, 25).join('\n')}\n\n` +
    `self time by function:\n${top(byFunction, 40).join('\n')}\n`,
);
if (options.keep === undefined) await rm(dir, { recursive: true, force: true });
