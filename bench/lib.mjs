/**
 * Shared pieces of the benchmark: request bodies, process statistics from
 * /proc, the h2load driver and its fallback, server start-up and gRPC status
 * checks. Plain ESM JavaScript so it runs on the built service (dist/) with
 * the project's Node and no compile step.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import http2 from 'node:http2';
import { connect } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import grpc from '@grpc/grpc-js';
// The project's one emulator launcher and free-port finder (plain .ts, run by
// Node's type stripping like the tests' and `make dev`'s copy of it).
import { freePort, startPubSubEmulator } from '../test/support/pubsub-emulator.ts';

export { freePort, startPubSubEmulator };

const run = promisify(execFile);

/** Clock ticks per second of /proc/<pid>/stat times. */
export const CLOCK_TICKS = Number(
  spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100,
);

/** Wraps one protobuf message in the gRPC length-prefixed frame (uncompressed). */
export function grpcFrame(message) {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  Buffer.from(message.buffer, message.byteOffset, message.length).copy(frame, 5);
  return frame;
}

/** True when `command` is on PATH. */
export function hasCommand(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** CPU seconds (user + system) a process has used so far. */
export function processCpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Resident set size and its peak (bytes) of a process. */
export function processMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kib('VmRSS') * 1024, peakRss: kib('VmHWM') * 1024 };
}

/** `taskset -c CPU` prefix when taskset exists and the machine has that CPU. */
export function pinned(cpu, argv) {
  if (cpu === undefined || cpu >= availableParallelism() || !hasCommand('taskset')) return argv;
  return ['taskset', '-c', String(cpu), ...argv];
}

/**
 * Installs h2load (Debian's nghttp2-client) when it is missing and apt-get
 * can be used. Returns whether h2load is available.
 */
export function ensureH2load(log) {
  if (hasCommand('h2load')) return true;
  if (!hasCommand('apt-get')) return false;
  const sudo = process.getuid?.() === 0 ? [] : hasCommand('sudo') ? ['sudo', '-n'] : undefined;
  if (sudo === undefined) return false;
  log('h2load is missing: installing nghttp2-client with apt-get');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const step = (args) =>
    spawnSync(sudo[0] ?? args[0], sudo.length > 0 ? [...sudo.slice(1), ...args] : args.slice(1), {
      stdio: 'ignore',
      env,
    }).status === 0;
  if (!step(['apt-get', 'update', '-qq'])) return false;
  step(['apt-get', 'install', '-y', '-qq', 'nghttp2-client']);
  return hasCommand('h2load');
}

/** True when `perf stat -e instructions` counts on this machine (not in most VMs). */
export function perfInstructionsSupported() {
  if (!hasCommand('perf')) return false;
  const probe = spawnSync('perf', ['stat', '-x,', '-e', 'instructions', '--', 'true'], {
    encoding: 'utf8',
  });
  return probe.status === 0 && /^\d+,/m.test(probe.stderr);
}

/** Counts the instructions `pid` retires until `stop()` is called. */
export function countInstructions(pid) {
  const child = spawn('perf', ['stat', '-x,', '-e', 'instructions', '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    async stop() {
      child.kill('SIGINT');
      await exited;
      const match = /^(\d+),[^,]*,instructions/m.exec(stderr);
      return match === null ? undefined : Number(match[1]);
    },
  };
}

/** Percentile (0..1) of a sorted array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Drives unary calls with h2load: one HTTP/2 connection with `concurrency`
 * streams, each POSTing the same pre-encoded gRPC body. Latencies come from
 * h2load's per-request log; the generator's CPU from the wrapping shell's
 * cutime/cstime (its waited-for children).
 */
export async function runH2load({
  url,
  bodyFile,
  concurrency,
  seconds,
  cpu,
  logFile,
  metadata = {},
  transport = GRPC_TRANSPORT,
}) {
  const headers = Object.entries({ ...transport.headers, ...metadata }).flatMap(([key, value]) => [
    '-H',
    `${key}: ${value}`,
  ]);
  // HTTP/1.1 has one call in flight per connection: `concurrency` keep-alive
  // connections instead of `concurrency` streams on one.
  const connections = transport.h1
    ? ['--h1', '-c', String(concurrency), '-m', '1']
    : ['-c', '1', '-m', String(concurrency)];
  const h2load = [
    'h2load',
    ...connections,
    '-t',
    '1',
    '-D',
    `${Math.round(seconds * 1000)}ms`,
    '-d',
    bodyFile,
    ...headers,
    `--log-file=${logFile}`,
    url,
  ];
  const argv = pinned(cpu, h2load);
  const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const { stdout } = await run('bash', ['-c', `${quoted}; echo "CHILDSTAT $(cat /proc/$$/stat)"`], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const requests =
    /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(stdout);
  const statusCodes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  const finished = /finished in ([\d.]+)(m?s)/.exec(stdout);
  const stat = /CHILDSTAT (.*)$/m.exec(stdout)?.[1] ?? '';
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // cutime/cstime are fields 16 and 17.
  const generatorCpu = (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS;
  if (requests === null || finished === null)
    throw new Error(`h2load output not understood:\n${stdout}`);
  const wall = Number(finished[1]) / (finished[2] === 'ms' ? 1000 : 1);
  const latencies = (await readFile(logFile, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => Number(line.split('\t')[2]) / 1000)
    .sort((a, b) => a - b);
  return {
    calls: Number(requests[4]),
    failed: Number(requests[5]) + Number(statusCodes?.[4] ?? 0) + Number(statusCodes?.[3] ?? 0),
    wall,
    callsPerSecond: Number(requests[4]) / wall,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    generatorCpu,
  };
}

/**
 * The generator for scenarios whose request changes per call (h2load sends
 * one body): one long-lived node:http2 worker per server (h2-load-worker.mjs),
 * pinned to `cpu`, with `concurrency` streams on one connection, each call
 * built by the scenario's `request(ctx, index)` in the worker. `run(seconds)`
 * is one window; the worker stays warm between windows. Costs more
 * generator CPU per call than h2load, so a scenario and its baseline always
 * use the same generator.
 */
export function openHttp2Load({ address, path, scenarioId, ctx, metadata, concurrency, cpu }) {
  const worker = join(dirname(new URL(import.meta.url).pathname), 'h2-load-worker.mjs');
  const spec = JSON.stringify({ address, path, scenarioId, ctx, metadata, concurrency });
  const argv = pinned(cpu, [process.execPath, worker, spec]);
  // taskset execs node, so the child's pid is the worker's.
  const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async run(seconds) {
      const cpuBefore = processCpuSeconds(child.pid);
      child.stdin.write(`${JSON.stringify({ seconds })}\n`);
      const { value, done } = await lines.next();
      if (done) throw new Error(`the load generator exited: ${stderr}`);
      const result = JSON.parse(value);
      const latencies = result.latencies.sort((a, b) => a - b);
      return {
        calls: result.ok,
        failed: result.failed,
        firstError: result.firstError,
        wall: result.wall,
        callsPerSecond: result.ok / result.wall,
        p50Ms: percentile(latencies, 0.5),
        p99Ms: percentile(latencies, 0.99),
        generatorCpu: processCpuSeconds(child.pid) - cpuBefore,
      };
    },
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin.end();
      await exited;
    },
  };
}

/**
 * The fallback generator when h2load is unavailable: `processes` Node
 * processes, each one grpc-js channel sending the same pre-encoded message.
 * A grpc-js client costs about as much CPU per call as the server, so this
 * generator can be the bottleneck: the report says which generator ran.
 */
export async function runGrpcJsLoad({ address, path, message, concurrency, seconds, cpu }) {
  const processes = Math.min(concurrency, 2);
  const worker = join(dirname(new URL(import.meta.url).pathname), 'grpc-load-worker.mjs');
  const messageFile = join(process.env.BENCH_TMP ?? '/tmp', `bench-message-${process.pid}.bin`);
  await writeFile(messageFile, message);
  const started = Date.now();
  const results = await Promise.all(
    Array.from({ length: processes }, async (_, i) => {
      const share = Math.floor(concurrency / processes) + (i < concurrency % processes ? 1 : 0);
      const argv = pinned(cpu, [
        process.execPath,
        worker,
        address,
        path,
        messageFile,
        String(share),
        String(seconds),
      ]);
      const { stdout } = await run('bash', [
        '-c',
        `${argv.map((a) => `'${a}'`).join(' ')}; echo "CHILDSTAT $(cat /proc/$$/stat)"`,
      ]);
      const stat = /CHILDSTAT (.*)$/m.exec(stdout)?.[1] ?? '';
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return {
        ...JSON.parse(stdout.split('\n')[0]),
        cpu: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS,
      };
    }),
  );
  const wall = (Date.now() - started) / 1000;
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const calls = results.reduce((sum, r) => sum + r.ok, 0);
  return {
    calls,
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    wall,
    callsPerSecond: calls / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    generatorCpu: results.reduce((sum, r) => sum + r.cpu, 0),
  };
}

const rawCodec = {
  serialize: (bytes) => bytes,
  deserialize: (bytes) => bytes,
};

/** Fast-reconnecting channel options: start-up polling must not wait out a 1 s backoff. */
const POLL_CHANNEL = {
  'grpc.initial_reconnect_backoff_ms': 2,
  'grpc.max_reconnect_backoff_ms': 5,
};

/** gRPC metadata from a plain object. */
export function toMetadata(entries = {}) {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) metadata.set(key, value);
  return metadata;
}

/** One unary call with raw protobuf bytes through a real grpc-js client. */
export function rawUnary(client, path, message, deadlineMs = 5_000, metadata = {}) {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      rawCodec.serialize,
      rawCodec.deserialize,
      message,
      toMetadata(metadata),
      { deadline: Date.now() + deadlineMs },
      (err, response) => (err ? reject(err) : resolve(response)),
    );
  });
}

/**
 * Checks that the exact bytes the generator sends get gRPC status 0: once
 * with node:http2 replaying the body byte for byte (h2load only counts HTTP
 * 200s), once with a real grpc-js client.
 */
export async function verifyStatusOk(address, path, body, metadata = {}) {
  const session = http2.connect(`http://${address}`);
  try {
    const trailers = await new Promise((resolve, reject) => {
      const stream = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc',
        te: 'trailers',
        ...metadata,
      });
      let headers;
      stream.on('response', (h) => {
        headers = h;
      });
      stream.on('trailers', resolve);
      stream.on('error', reject);
      stream.on('end', () => resolve(headers));
      stream.resume();
      stream.end(body);
    });
    if (trailers?.['grpc-status'] !== '0') {
      throw new Error(
        `${path} on ${address} answered grpc-status ${trailers?.['grpc-status']}: ${trailers?.['grpc-message']}`,
      );
    }
  } finally {
    session.close();
  }
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  try {
    await rawUnary(client, path, body.subarray(5), 5_000, metadata);
  } finally {
    client.close();
  }
}

/**
 * The wire a load generator speaks: gRPC (the default), or Jack's HTTP
 * transport (SPEC §18) — Connect binary over h2c, Connect JSON over
 * HTTP/1.1 keep-alive. `frame`: the body carries gRPC's 5-byte prefix.
 */
export const GRPC_TRANSPORT = {
  name: 'grpc',
  headers: { 'content-type': 'application/grpc', te: 'trailers' },
  frame: true,
};
export const TRANSPORTS = {
  grpc: GRPC_TRANSPORT,
  connect: {
    name: 'Connect binary, h2c',
    headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1' },
    http: true,
  },
  'json-h1': {
    name: 'Connect JSON, HTTP/1.1 keep-alive',
    headers: { 'content-type': 'application/json', 'connect-protocol-version': '1' },
    http: true,
    h1: true,
    json: true,
  },
};

/** One Connect unary call (h2c or HTTP/1.1) must answer HTTP 200. */
export async function verifyHttpOk(url, transport, body, metadata = {}) {
  const headers = { ...transport.headers, ...metadata };
  if (transport.h1) {
    const response = await fetch(url, { method: 'POST', headers, body });
    if (response.status !== 200) {
      throw new Error(
        `${url} answered HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`,
      );
    }
    return;
  }
  const { origin, pathname } = new URL(url);
  const session = http2.connect(origin);
  try {
    const { status, text } = await new Promise((resolve, reject) => {
      const stream = session.request({ ':method': 'POST', ':path': pathname, ...headers });
      let status;
      const chunks = [];
      stream.on('response', (h) => {
        status = h[':status'];
      });
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('error', reject);
      stream.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString() }));
      stream.end(body);
    });
    if (status !== 200) throw new Error(`${url} answered HTTP ${status}: ${text.slice(0, 200)}`);
  } finally {
    session.close();
  }
}

/**
 * Spawns a server pinned to `cpu` and resolves when `ready(client)` first
 * succeeds; `startMs` is the time from spawn to that moment.
 */
export async function startServer({ name, argv, env, cpu, address, ready, timeoutMs = 60_000 }) {
  const started = performance.now();
  const full = pinned(cpu, argv);
  const child = spawn(full[0], full.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let exitCode;
  child.once('exit', (code, signal) => {
    exitCode = code ?? signal;
  });
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), POLL_CHANNEL);
  try {
    for (;;) {
      if (exitCode !== undefined) throw new Error(`${name} exited (${exitCode}): ${stderr}`);
      if (performance.now() - started > timeoutMs) throw new Error(`${name} did not start`);
      try {
        await ready(client);
        break;
      } catch {
        await sleep(2);
      }
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  } finally {
    client.close();
  }
  const startMs = performance.now() - started;
  // taskset execs the server, so the child's pid is the server's.
  return {
    name,
    pid: child.pid,
    address,
    startMs,
    /** The last few KiB the server wrote on stderr. */
    stderr: () => stderr,
    async stop() {
      if (exitCode !== undefined) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves when grpc.health.v1 Check('') answers SERVING. */
export async function healthServing(client) {
  const response = await rawUnary(client, '/grpc.health.v1.Health/Check', Buffer.alloc(0), 1_000);
  // HealthCheckResponse{status: SERVING (1)} is field 1 varint 1.
  if (!(response.length === 2 && response[0] === 0x08 && response[1] === 0x01)) {
    throw new Error('not SERVING yet');
  }
}

/**
 * Writes a CONFIG_DIR in the store's protobuf-JSON form holding each
 * producer (`{ producerId, rateLimitRps }`) and its MEDIUM job type
 * `send_email`, so Jack starts with them registered (as in production)
 * instead of learning them through AdminService on a memory store.
 */
export async function writeConfigDir(dir, producers) {
  const { JobTypesFile, ProducersFile, Queue } = await import('../dist/gen/jack/storage.js');
  const now = new Date();
  const file = {
    producers: producers.map(({ producerId, rateLimitRps = 0 }) => ({
      producerId,
      name: producerId,
      description: 'bench',
      rateLimitRps,
      createdAt: now,
      updatedAt: now,
      principals: [],
    })),
    jobTypes: producers.map(({ producerId }) => ({
      producerId,
      name: 'send_email',
      queue: Queue.QUEUE_MEDIUM,
      maxRetries: 3,
      description: '',
      createdAt: now,
      updatedAt: now,
    })),
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'producers.json'), JSON.stringify(ProducersFile.toJSON(file)));
  await writeFile(join(dir, 'job_types.json'), JSON.stringify(JobTypesFile.toJSON(file)));
}

/** Starts redis-server on a free port (no persistence) pinned to `cpu`; undefined when not installed. */
export async function startRedis(cpu) {
  if (!hasCommand('redis-server')) return undefined;
  const port = await freePort();
  const argv = pinned(cpu, [
    'redis-server',
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
  const redis = {
    url: `redis://127.0.0.1:${port}`,
    /** Number of keys in the database (RESP DBSIZE over a raw socket). */
    keys: () => redisCommand(port, 'DBSIZE'),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await redis.keys();
      return redis;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server did not start: ${err.message}`);
      }
      await sleep(50);
    }
  }
}

/**
 * A `nats-server -js` (file storage in a temp dir) with the stream BENCH on
 * `jack.>`, capped at 1 GiB (old messages discarded) so long runs fit on disk.
 * Undefined when nats-server is not installed.
 */
export async function startNats(cpu) {
  if (!hasCommand('nats-server')) return undefined;
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const nats = await import('nats');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'jack-bench-nats-'));
  const argv = pinned(cpu, [
    'nats-server',
    '-js',
    '-sd',
    dir,
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
  ]);
  const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  let nc;
  for (;;) {
    try {
      nc = await nats.connect({ servers: url, timeout: 1_000 });
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`nats-server did not start: ${err.message}`);
      }
      await sleep(50);
    }
  }
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name: 'BENCH',
    subjects: ['jack.>'],
    storage: nats.StorageType.File,
    max_bytes: 1024 ** 3,
    discard: nats.DiscardPolicy.Old,
    duplicate_window: nats.nanos(120_000),
  });
  await nc.close();
  return {
    url,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends one argument-less command; resolves with its integer reply. */
function redisCommand(port, command) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy(new Error('Redis did not answer')));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      reply += chunk;
      const match = /^:(\d+)\r\n/.exec(reply);
      if (match !== null) {
        socket.end();
        resolve(Number(match[1]));
      } else if (reply.includes('\r\n')) {
        socket.end();
        reject(new Error(`unexpected Redis reply ${JSON.stringify(reply)}`));
      }
    });
    socket.write(`*1\r\n$${command.length}\r\n${command}\r\n`);
  });
}

/**
 * A stand-in OTLP/HTTP collector: answers every POST with 200 and an empty
 * body (a valid empty Export*ServiceResponse), and counts the requests.
 */
export async function startOtlpStub() {
  let requests = 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      res.writeHead(200, { 'content-type': req.headers['content-type'] ?? 'application/json' });
      res.end(req.headers['content-type']?.includes('json') ? '{}' : '');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    requests: () => requests,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * A real PostgreSQL for the ledger rows, started the way the tests start
 * theirs (test/support/postgres.ts: initdb + pg_ctl as the `postgres` user,
 * temp dir, free port), then its postmaster pinned to `cpu` (the backends it
 * forks later inherit that). One fresh database for the bench.
 */
export async function startBenchPostgres(cpu) {
  const { findPostgresBin, startPostgres, createDatabase } = await import(
    '../test/support/postgres.ts'
  );
  if (findPostgresBin() === undefined) return undefined;
  const cluster = await startPostgres();
  if (cpu !== undefined) spawnSync('taskset', ['-a', '-cp', String(cpu), String(cluster.pid)]);
  const url = await createDatabase(cluster.url, 'jack_bench');
  return { url, stop: () => cluster.destroy() };
}
