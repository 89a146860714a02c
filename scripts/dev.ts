/**
 * `make dev`: the whole loop on one machine. Starts the Pub/Sub emulator
 * (unless PUBSUB_EMULATOR_HOST already points at one), creates the four
 * topics with one subscription each, and runs the built Jack with
 * QUEUE_BACKEND=pubsub and CONFIG_DIR=./data. Ctrl-C stops Jack, then the
 * emulator. See a job arrive with `npm run pull -- high`.
 *
 * Runs on Node 24's type stripping, so it imports packages only.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub } from '@google-cloud/pubsub';

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

/** The emulator start script: PUBSUB_EMULATOR_BIN, or next to `gcloud` on PATH. */
function findEmulator(): string | undefined {
  const explicit = process.env.PUBSUB_EMULATOR_BIN;
  if (explicit) return existsSync(explicit) ? explicit : undefined;
  const which = spawnSync('sh', ['-c', 'command -v gcloud'], { encoding: 'utf8' });
  if (which.status !== 0 || which.stdout.trim() === '') return undefined;
  const sdkRoot = dirname(dirname(realpathSync(which.stdout.trim())));
  const script = join(sdkRoot, 'platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator');
  return existsSync(script) ? script : undefined;
}

async function answers(host: string): Promise<boolean> {
  try {
    return (await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

async function startEmulator(): Promise<{ host: string; child: ChildProcess | undefined }> {
  const given = process.env.PUBSUB_EMULATOR_HOST;
  if (given) {
    if (!(await answers(given))) throw new Error(`PUBSUB_EMULATOR_HOST=${given} does not answer`);
    log(`using the emulator at ${given}`);
    return { host: given, child: undefined };
  }
  const host = `127.0.0.1:${emulatorPort}`;
  if (await answers(host)) throw new Error(`${host} is taken: set DEV_PUBSUB_EMULATOR_PORT`);
  const script = findEmulator();
  if (script === undefined) {
    throw new Error(
      'Pub/Sub emulator not found: `gcloud components install pubsub-emulator` (or set PUBSUB_EMULATOR_BIN)',
    );
  }
  log(`starting the Pub/Sub emulator on ${host}`);
  const child = spawn(script, ['--host=127.0.0.1', `--port=${emulatorPort}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The emulator logs every connection; keep its output for a failed start only.
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const deadline = Date.now() + 60_000;
  while (!(await answers(host))) {
    if (child.exitCode !== null) {
      throw new Error(`the Pub/Sub emulator exited during startup:\n${output}`);
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the Pub/Sub emulator did not answer on ${host}:\n${output}`);
    }
    await sleep(250);
  }
  return { host, child };
}

async function createTopics(host: string): Promise<void> {
  const client = new PubSub({
    projectId: project,
    apiEndpoint: host,
    emulatorMode: true,
    universeDomain: 'googleapis.com',
  });
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

function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const { host, child: emulator } = await startEmulator();
  try {
    await createTopics(host);
  } catch (err) {
    await stop(emulator);
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
  const jack = spawn(process.execPath, ['dist/main.js'], { env, stdio: 'inherit' });
  // Ctrl-C reaches both children through the terminal; forward SIGTERM too.
  process.on('SIGTERM', () => jack.kill('SIGTERM'));
  process.on('SIGINT', () => {});
  const code = await new Promise<number>((resolve) => {
    jack.once('exit', (exitCode) => resolve(exitCode ?? 1));
  });
  await stop(emulator);
  process.exitCode = code;
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
