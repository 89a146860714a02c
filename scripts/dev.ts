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
 * Runs on Node 24's type stripping, so it imports packages and plain,
 * dependency-free .ts files only (the emulator launcher the tests use too).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { PubSub } from '@google-cloud/pubsub';
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

async function main(): Promise<void> {
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
  const worker = process.env.DEV_WORKER === 'false' ? undefined : startWorker(env);
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
function startWorker(env: Record<string, string | undefined>): ChildProcess {
  const lanes = PRIORITIES.flatMap((p) => ['--lane', `${p}=${topics[p]}-worker`]);
  log(
    'starting a worker: jack work --create-subscriptions (one subscription <topic>-worker per lane)',
  );
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
