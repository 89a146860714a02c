/**
 * `make dev`: the whole loop on one machine. Starts the Pub/Sub emulator
 * (unless PUBSUB_EMULATOR_HOST already points at one), creates the four
 * topics with one subscription each, and runs the built Jack with
 * QUEUE_BACKEND=pubsub and CONFIG_DIR=./data, and a `jack work` worker on
 * subscriptions of its own (`<topic>-worker`, created by the worker) that
 * prints each job and reports it SUCCEEDED (DEV_WORKER=false: no worker).
 * Ctrl-C stops them, then the emulator. See a job arrive with
 * `npm run pull -- high`, or travel with `jack enqueue … --wait`.
 *
 * `make dev BACKEND=nats` (DEV_BACKEND=nats) does the same on NATS: a local
 * `nats-server -js` (store in ./data/nats, port DEV_NATS_PORT or 4222; or
 * the server NATS_URL names), the stream JACK covering jack.>, one durable
 * pull consumer per lane (jack-immediate … jack-low), Jack on
 * QUEUE_BACKEND=nats, and `jack work --backend nats` on consumers of its
 * own (`jack-<priority>-worker`, created by the worker).
 *
 * Runs on Node 24's type stripping, so it imports packages and plain,
 * dependency-free .ts files only (the emulator launcher the tests use too).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { PubSub } from '@google-cloud/pubsub';
import { AckPolicy, connect, type NatsConnection, nanos, StorageType } from 'nats';
import {
  emulatorAnswers,
  emulatorClientOptions,
  findPubSubEmulator,
  INSTALL_HINT,
  type PubSubEmulator,
  startPubSubEmulator,
} from '../test/support/pubsub-emulator.ts';

const PRIORITIES = ['immediate', 'high', 'medium', 'low'] as const;

/** Dev defaults; every one can be overridden from the environment. */
const project = process.env.PUBSUB_PROJECT ?? 'jack-dev';
const emulatorPort = Number(process.env.DEV_PUBSUB_EMULATOR_PORT ?? 8085);
const topics = Object.fromEntries(
  PRIORITIES.map((p) => [p, process.env[`PUBSUB_TOPIC_${p.toUpperCase()}`] ?? `jack-${p}`]),
) as Record<(typeof PRIORITIES)[number], string>;

function log(message: string): void {
  process.stderr.write(`[dev] ${message}\n`);
}

async function startEmulator(): Promise<{ host: string; emulator: PubSubEmulator | undefined }> {
  const given = process.env.PUBSUB_EMULATOR_HOST;
  if (given) {
    if (!(await emulatorAnswers(given))) {
      throw new Error(`PUBSUB_EMULATOR_HOST=${given} does not answer`);
    }
    log(`using the emulator at ${given}`);
    return { host: given, emulator: undefined };
  }
  const host = `127.0.0.1:${emulatorPort}`;
  if (await emulatorAnswers(host))
    throw new Error(`${host} is taken: set DEV_PUBSUB_EMULATOR_PORT`);
  if (findPubSubEmulator() === undefined) {
    throw new Error(`Pub/Sub emulator not found: ${INSTALL_HINT}`);
  }
  log(`starting the Pub/Sub emulator on ${host}`);
  const emulator = await startPubSubEmulator({ port: emulatorPort });
  return { host, emulator };
}

async function createTopics(host: string): Promise<void> {
  const client = new PubSub(emulatorClientOptions(project, host));
  try {
    for (const p of PRIORITIES) {
      const [topic] = await client.topic(topics[p]).get({ autoCreate: true });
      await topic.subscription(`${topics[p]}-sub`).get({ autoCreate: true });
      log(`topic ${topics[p]} with subscription ${topics[p]}-sub`);
    }
  } finally {
    await client.close();
  }
}

/** Connects, retrying while a server we just started comes up (bounded). */
async function natsConnect(servers: string): Promise<NatsConnection> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await connect({ servers, timeout: 1_000 });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function runNats(): Promise<number> {
  const stream = process.env.NATS_STREAM ?? 'JACK';
  const prefix = process.env.NATS_SUBJECT_PREFIX ?? 'jack';
  let server: ChildProcess | undefined;
  let url = process.env.NATS_URL;
  if (url === undefined) {
    const port = Number(process.env.DEV_NATS_PORT ?? 4222);
    mkdirSync('data/nats', { recursive: true });
    log(`starting nats-server -js on 127.0.0.1:${port} (store ./data/nats)`);
    server = spawn(
      'nats-server',
      ['-js', '-sd', 'data/nats', '-a', '127.0.0.1', '-p', String(port)],
      {
        stdio: 'ignore',
      },
    );
    server.once('error', () => log('nats-server not found: apt-get install nats-server'));
    url = `nats://127.0.0.1:${port}`;
  } else log('using the NATS server NATS_URL names');
  const stop = async () => {
    if (server === undefined) return;
    server.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
  };
  try {
    const parsed = new URL(url.split(',')[0] ?? '');
    const nc = await natsConnect(`${parsed.hostname}:${parsed.port || 4222}`);
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(stream);
    } catch {
      await jsm.streams.add({
        name: stream,
        subjects: [`${prefix}.>`],
        storage: StorageType.File,
        duplicate_window: nanos(120_000),
      });
      log(`created stream ${stream} on ${prefix}.>`);
    }
    for (const p of PRIORITIES) {
      await jsm.consumers.add(stream, {
        durable_name: `jack-${p}`,
        filter_subject: `${prefix}.${p}.>`,
        ack_policy: AckPolicy.Explicit,
      });
      log(`durable pull consumer jack-${p} on ${prefix}.${p}.>`);
    }
    await nc.close();
  } catch (err) {
    await stop();
    throw err;
  }
  const env: Record<string, string | undefined> = {
    ...process.env,
    QUEUE_BACKEND: 'nats',
    NATS_URL: url,
    NATS_STREAM: stream,
    NATS_SUBJECT_PREFIX: prefix,
    CONFIG_DIR: process.env.CONFIG_DIR ?? './data',
  };
  log(`starting Jack (QUEUE_BACKEND=nats, NATS_STREAM=${stream}, CONFIG_DIR=${env.CONFIG_DIR})`);
  const jack: ChildProcess = spawn(process.execPath, ['dist/main.js'], { env, stdio: 'inherit' });
  const worker =
    process.env.DEV_WORKER === 'false'
      ? undefined
      : startWorker(
          // NATS_CREATE_STREAM=true marks this server as development: the
          // worker may create its consumers.
          { ...env, NATS_CREATE_STREAM: 'true' },
          PRIORITIES.map((p) => [p, `jack-${p}-worker`]),
          'one durable consumer jack-<priority>-worker per lane',
        );
  process.on('SIGTERM', () => {
    jack.kill('SIGTERM');
    worker?.kill('SIGTERM');
  });
  process.on('SIGINT', () => {});
  const code = await new Promise<number>((resolve) => {
    jack.once('exit', (exitCode) => resolve(exitCode ?? 1));
  });
  if (worker !== undefined && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
  await stop();
  return code;
}

async function main(): Promise<void> {
  if (process.env.DEV_BACKEND === 'nats') {
    process.exitCode = await runNats();
    return;
  }
  const { host, emulator } = await startEmulator();
  try {
    await createTopics(host);
  } catch (err) {
    await emulator?.stop();
    throw err;
  }
  const env: Record<string, string | undefined> = {
    ...process.env,
    QUEUE_BACKEND: 'pubsub',
    PUBSUB_PROJECT: project,
    PUBSUB_EMULATOR_HOST: host,
    CONFIG_DIR: process.env.CONFIG_DIR ?? './data',
  };
  for (const p of PRIORITIES) env[`PUBSUB_TOPIC_${p.toUpperCase()}`] = topics[p];
  log(
    `starting Jack (QUEUE_BACKEND=pubsub, PUBSUB_PROJECT=${project}, CONFIG_DIR=${env.CONFIG_DIR})`,
  );
  log('pull what arrives with: npm run pull -- high   (or immediate|medium|low)');
  const jack: ChildProcess = spawn(process.execPath, ['dist/main.js'], { env, stdio: 'inherit' });
  const worker =
    process.env.DEV_WORKER === 'false'
      ? undefined
      : startWorker(
          env,
          PRIORITIES.map((p) => [p, `${topics[p]}-worker`]),
          'one subscription <topic>-worker per lane',
        );
  // Ctrl-C reaches the children through the terminal; forward SIGTERM too.
  process.on('SIGTERM', () => {
    jack.kill('SIGTERM');
    worker?.kill('SIGTERM');
  });
  process.on('SIGINT', () => {});
  const code = await new Promise<number>((resolve) => {
    jack.once('exit', (exitCode) => resolve(exitCode ?? 1));
  });
  if (worker !== undefined && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  }
  await emulator?.stop();
  process.exitCode = code;
}

/** `jack work` on every lane, printing each job on stderr; reports to the Jack just started. */
function startWorker(
  env: Record<string, string | undefined>,
  laneNames: [string, string][],
  what: string,
): ChildProcess {
  const lanes = laneNames.flatMap(([p, name]) => ['--lane', `${p}=${name}`]);
  log(`starting a worker: jack work --create-subscriptions (${what})`);
  log(
    'see a job travel to SUCCEEDED: npx jack enqueue PRODUCER_ID JOB_TYPE \'{"hello":1}\' --wait',
  );
  const print = 'echo "[worker] $JACK_JOB_TYPE $JACK_JOB_ID attempt $JACK_ATTEMPT: $(cat)" >&2';
  return spawn(
    process.execPath,
    ['dist/cli/main.js', 'work', ...lanes, '--create-subscriptions', '--', 'sh', '-c', print],
    {
      env: { ...env, JACK_ADDR: env.JACK_ADDR ?? `127.0.0.1:${env.GRPC_PORT ?? '50051'}` },
      stdio: 'inherit',
    },
  );
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
