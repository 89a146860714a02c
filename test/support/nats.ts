/**
 * A real `nats-server -js` for tests: file storage in a temp dir, bound to
 * 127.0.0.1 on a free port, stopped by its PID. `kill()` (SIGKILL) and
 * `restart()` keep the port and the store dir, so outage tests bring the
 * same server back with what it had stored; `pause()`/`resume()` (SIGSTOP,
 * SIGCONT) make a server that accepts bytes and never answers.
 *
 * Without `nats-server` on PATH (or NATS_SERVER_BIN), `natsAvailable()`
 * prints a loud notice and returns false on a laptop, and throws under
 * CI=true, where a missing server must fail the run rather than skip tests.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './pubsub-emulator.js';

export interface NatsServer {
  readonly port: number;
  /** nats://127.0.0.1:PORT (with the credentials when some were set). */
  readonly url: string;
  /** PID of the running server; -1 while stopped. */
  readonly pid: number;
  /** SIGKILL, and wait for the exit: no chance to flush anything. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same store dir. */
  restart(): Promise<void>;
  /** Resolves once the kernel reports the process stopped (SIGSTOP is delivered asynchronously). */
  pause(): Promise<void>;
  resume(): void;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its store dir. */
  stop(): Promise<void>;
}

export interface NatsServerOptions {
  /** Requires this user and password (the url then carries them). */
  user?: { name: string; password: string };
}

export function findNatsServer(): string | undefined {
  const explicit = process.env.NATS_SERVER_BIN;
  if (explicit !== undefined && explicit !== '') return existsSync(explicit) ? explicit : undefined;
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return which.status === 0 && path !== '' ? path : undefined;
}

let noticePrinted = false;

/** True when nats-server can run. Missing: throws under CI=true; else a loud notice and false. */
export function natsAvailable(): boolean {
  if (findNatsServer() !== undefined) return true;
  if (process.env.CI === 'true') {
    throw new Error(
      'CI=true but nats-server is not installed (apt-get install -y nats-server): NATS tests cannot be skipped in CI',
    );
  }
  if (!noticePrinted) {
    noticePrinted = true;
    const bar = '!'.repeat(78);
    process.stderr.write(
      `\n${bar}\n!! nats-server NOT FOUND: every NATS test is SKIPPED.\n!! Install it (apt-get install nats-server) or set NATS_SERVER_BIN.\n${bar}\n\n`,
    );
  }
  return false;
}

/** Resolves true once the server sends its INFO line. */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.on('data', (chunk: Buffer) => finish(chunk.toString().startsWith('INFO ')));
  });
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  if (bin === undefined) throw new Error('nats-server is not installed');
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'jack-nats-'));
  const user = options.user;
  const args = [
    '-js',
    '-sd',
    storeDir,
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    ...(user === undefined ? [] : ['--user', user.name, '--pass', user.password]),
  ];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const launch = async () => {
    let output = '';
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    proc.stdout?.on('data', append);
    proc.stderr?.on('data', append);
    let running = true;
    exited = new Promise<void>((resolve) =>
      proc.once('exit', () => {
        running = false;
        resolve();
      }),
    );
    child = proc;
    const deadline = Date.now() + 10_000;
    while (!(await greets(port))) {
      if (!running) throw new Error(`nats-server exited during startup: ${output.trim()}`);
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`nats-server did not greet on port ${port}: ${output.trim()}`);
      }
      await sleep(50);
    }
  };

  const halt = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGCONT');
      proc.kill(signal);
      const killer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
  };

  await launch();
  const auth =
    user === undefined
      ? ''
      : `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@`;
  return {
    port,
    url: `nats://${auth}127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    kill: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGTERM');
      await launch();
    },
    async pause() {
      const pid = child?.pid;
      child?.kill('SIGSTOP');
      if (pid === undefined) return;
      // kill() returns before every thread has stopped: a publish sent at
      // once could still be answered. Wait for the state 'T' in /proc.
      for (let i = 0; i < 200; i++) {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
        } catch {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    resume: () => child?.kill('SIGCONT'),
    async stop() {
      await halt('SIGTERM');
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
