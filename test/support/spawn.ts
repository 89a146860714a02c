/**
 * Runs the BUILT service (`dist/main.js`) as a child process, the way an
 * operator runs it: its own process, real signals, real exit codes. Collects
 * stdout (parsed pino JSON lines) and stderr. `make test` builds first.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout } from '../../src/timeout.js';
import type { LogLine } from './jack.js';
import { trackClosed, trackOpen } from './leaks.js';

/** `dist/` of this checkout: what `make build` writes. */
export const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

/** `dist/main.js` of this checkout. */
export const BUILT_MAIN = join(DIST, 'main.js');

/** Fails with a clear message when the service has not been built. */
export function requireBuild(): string {
  if (!existsSync(BUILT_MAIN)) {
    throw new Error(`${BUILT_MAIN} is missing: run 'make build' (make test builds first)`);
  }
  return BUILT_MAIN;
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnedJack {
  readonly child: ChildProcess;
  /** -1 when the process could not be started (then `exited` resolves at once). */
  readonly pid: number;
  /** Parsed JSON lines of stdout so far. */
  readonly logs: LogLine[];
  /** Non-JSON stdout lines (there should be none). */
  readonly otherStdout: string[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Resolves with the first log line that matches (already logged or future). */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitResult>;
  /** Sends a signal (no-op once exited). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILLs the process if it still runs and waits for its exit. Safe to call twice. */
  kill(): Promise<ExitResult>;
}

export interface SpawnOptions {
  /**
   * Environment of the child, on top of a minimal base (PATH, HOME) so the
   * developer's own JACK/PUBSUB variables never leak in.
   */
  env?: Record<string, string>;
  /** Script to run instead of dist/main.js (e.g. dist/healthcheck.js). */
  script?: string;
  /** Command-line arguments of the script. */
  args?: string[];
  cwd?: string;
}

/** Starts a process and collects its output; does not wait for anything. */
export function spawnJack(options: SpawnOptions = {}): SpawnedJack {
  const script = options.script ?? requireBuild();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...options.env,
  };
  const child = spawn(process.execPath, [script, ...(options.args ?? [])], {
    env,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid ?? -1;
  trackOpen(child, `spawned ${script} (pid ${pid}; kill() it or let it exit)`);

  const logs: LogLine[] = [];
  const otherStdout: string[] = [];
  let stderr = '';
  let pending = '';
  const watchers = new Set<() => void>();
  const notify = () => {
    for (const w of watchers) w();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let newline = pending.indexOf('\n');
    while (newline !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      if (line.trim() !== '') {
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          otherStdout.push(line);
        }
      }
      newline = pending.indexOf('\n');
    }
    notify();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });

  let exitResult: ExitResult | undefined;
  const exited = new Promise<ExitResult>((resolve) => {
    const finish = (result: ExitResult) => {
      if (exitResult !== undefined) return;
      exitResult = result;
      trackClosed(child);
      resolve(result);
      notify();
    };
    // 'close' (not 'exit'): stdout and stderr are fully read by then.
    child.once('close', (code, signal) => finish({ code, signal }));
    // A process that could not start at all (no node binary, …).
    child.once('error', (err) => {
      stderr += `spawn failed: ${err.message}\n`;
      finish({ code: null, signal: null });
    });
  });

  const describe = () =>
    `stdout: ${logs.map((l) => l.msg).join(' | ')}${otherStdout.join(' | ')}\nstderr: ${stderr}`;

  return {
    child,
    pid,
    logs,
    otherStdout,
    stderr: () => stderr,
    exited,
    waitForLog(match, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs.find(match);
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (exitResult !== undefined) {
            done();
            reject(
              new Error(`process exited (${JSON.stringify(exitResult)}) first\n${describe()}`),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching log line within ${timeoutMs}ms\n${describe()}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      });
    },
    signal(signal) {
      if (exitResult === undefined) child.kill(signal);
    },
    async kill() {
      if (exitResult === undefined) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** The port from the "jack listening on HOST:PORT" line. */
export function listeningPort(line: LogLine): number {
  const address = String(line.address ?? '');
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`no port in ${JSON.stringify(line)}`);
  return port;
}

/**
 * Spawns dist/main.js on 127.0.0.1 (GRPC_PORT 0 unless given) and waits for
 * its "listening" line; resolves with the process and its port.
 */
export async function startBuiltJack(
  env: Record<string, string> = {},
): Promise<SpawnedJack & { port: number; address: string }> {
  const jack = spawnJack({ env: { GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ...env } });
  try {
    const line = await jack.waitForLog((l) => l.msg.startsWith('jack listening on'));
    const port = listeningPort(line);
    return Object.assign(jack, { port, address: `127.0.0.1:${port}` });
  } catch (err) {
    await jack.kill();
    throw err;
  }
}

/**
 * Runs a process that is expected to stop by itself (a startup error, a
 * probe) and resolves with it once it has exited. One that is still running
 * after `timeoutMs` is killed, and the promise rejects.
 */
export async function runToExit(options: SpawnOptions, timeoutMs = 15_000): Promise<SpawnedJack> {
  const child = spawnJack(options);
  const outcome = await withTimeout(child.exited, timeoutMs, () => 'timeout' as const);
  if (outcome === 'timeout') {
    await child.kill();
    throw new Error(
      `process still running after ${timeoutMs}ms (killed); log: ${child.logs.map((l) => l.msg).join(' | ')}`,
    );
  }
  return child;
}
