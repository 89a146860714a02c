/**
 * The official Google Pub/Sub emulator (Java, from the Cloud SDK), started
 * on a free port and stopped by its PID. Found through PUBSUB_EMULATOR_BIN,
 * or next to the `gcloud` on PATH (SDK_ROOT/platform/pubsub-emulator/bin).
 *
 * The one launcher of the project: tests (global setup, outage tests),
 * `make dev` (scripts/dev.ts) and `make bench` (bench/lib.mjs) all use it.
 * The scripts run without a build on Node's type stripping, so this file
 * imports Node built-ins only and uses erasable TypeScript only.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PubSubEmulator {
  /** host:port, the value for PUBSUB_EMULATOR_HOST. */
  host: string;
  port: number;
  pid: number;
  /** Stops the emulator (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

/** What to do when the emulator is missing. */
export const INSTALL_HINT =
  '`gcloud components install pubsub-emulator` (or set PUBSUB_EMULATOR_BIN to its start script)';

/** Path of the emulator start script, or undefined when it is not installed. */
export function findPubSubEmulator(): string | undefined {
  const explicit = process.env.PUBSUB_EMULATOR_BIN;
  if (explicit !== undefined && explicit !== '') return existsSync(explicit) ? explicit : undefined;
  const which = spawnSync('sh', ['-c', 'command -v gcloud'], { encoding: 'utf8' });
  const gcloud = which.stdout.trim();
  if (which.status !== 0 || gcloud === '') return undefined;
  const sdkRoot = dirname(dirname(realpathSync(gcloud)));
  const script = join(sdkRoot, 'platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator');
  return existsSync(script) ? script : undefined;
}

/**
 * Options of a `@google-cloud/pubsub` client that talks to the emulator at
 * `host`. The universe is stated so that gax does not probe the GCE
 * metadata server for it (a warning and a delay; the emulator needs no
 * credentials). Plain data, so this file stays free of package imports.
 */
export function emulatorClientOptions(projectId: string, host: string) {
  return { projectId, apiEndpoint: host, emulatorMode: true, universeDomain: 'googleapis.com' };
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True when an emulator answers HTTP on host:port. */
export async function emulatorAnswers(host: string): Promise<boolean> {
  try {
    const response = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

export interface EmulatorOptions {
  /** A fixed port (to restart one on the same address); default: a free one. */
  port?: number;
  /** How long the JVM may take to answer; default 60 s. */
  timeoutMs?: number;
  /** Pin the emulator to this CPU with taskset (the bench keeps it off the server's CPU). */
  cpu?: number;
}

/** Starts an emulator and resolves once it answers HTTP on its port. */
export async function startPubSubEmulator(options: EmulatorOptions = {}): Promise<PubSubEmulator> {
  const script = findPubSubEmulator();
  if (script === undefined) {
    throw new Error(`the Google Pub/Sub emulator is not installed: ${INSTALL_HINT}`);
  }
  const port = options.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const args = [script, '--host=127.0.0.1', `--port=${port}`];
  // taskset and the start script both exec, so the child's pid is the JVM's.
  const argv = options.cpu === undefined ? args : ['taskset', '-c', String(options.cpu), ...args];
  const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: false,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let running = true;
  void exited.then(() => {
    running = false;
  });

  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!(await emulatorAnswers(host))) {
    if (!running) throw new Error(`Pub/Sub emulator exited during startup: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Pub/Sub emulator did not answer on ${host} in time: ${stderr.trim()}`);
    }
    await sleep(200);
  }

  const pid = child.pid ?? -1;
  let stopped: Promise<void> | undefined;
  return {
    host,
    port,
    pid,
    stop() {
      stopped ??= (async () => {
        if (!running) return;
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(killer);
      })();
      return stopped;
    },
  };
}
