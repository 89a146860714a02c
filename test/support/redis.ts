/**
 * A real `redis-server` for tests: started on a free port, bound to
 * 127.0.0.1, without persistence, and stopped by its PID. `stop()` and
 * `restart()` keep the port, so outage tests can kill Redis under a running
 * service and bring it back on the same address.
 *
 * Without `redis-server` on PATH (or REDIS_SERVER_BIN), `redisAvailable()`
 * prints a loud notice and returns false on a laptop, and throws under
 * CI=true, where a missing Redis must fail the run rather than skip tests.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import { freePort } from './pubsub-emulator.js';

export interface RedisServer {
  readonly port: number;
  /** redis[s]://127.0.0.1:PORT (with the password when one was set). */
  readonly url: string;
  /** PID of the running server; -1 while stopped. */
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL) and waits for its exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop), resolving once it answers PING. */
  restart(): Promise<void>;
}

export interface RedisServerOptions {
  /** Sets `requirepass`; the url then carries it. */
  password?: string;
  /** Serve TLS only (rediss://) with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
  /** Extra redis-server arguments. */
  args?: string[];
}

/** Path of redis-server, or undefined when it is not installed. */
export function findRedisServer(): string | undefined {
  const explicit = process.env.REDIS_SERVER_BIN;
  if (explicit !== undefined && explicit !== '') return existsSync(explicit) ? explicit : undefined;
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = which.stdout.trim();
  return which.status === 0 && path !== '' ? path : undefined;
}

let noticePrinted = false;

/**
 * True when redis-server can run. Missing: throws under CI=true; otherwise
 * prints a loud notice (once) and returns false, for `describe.skipIf`.
 */
export function redisAvailable(): boolean {
  if (findRedisServer() !== undefined) return true;
  if (process.env.CI === 'true') {
    throw new Error(
      'CI=true but redis-server is not installed (apt-get install -y redis-server): Redis tests cannot be skipped in CI',
    );
  }
  if (!noticePrinted) {
    noticePrinted = true;
    const bar = '!'.repeat(78);
    process.stderr.write(
      `\n${bar}\n!! redis-server NOT FOUND: every Redis test is SKIPPED.\n!! Install it (apt-get install redis-server) or set REDIS_SERVER_BIN.\n${bar}\n\n`,
    );
  }
  return false;
}

/** Sends one RESP PING (after AUTH when needed) and reports whether PONG came back. */
function pings(port: number, password: string | undefined, tls: boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls
      ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
      : connect({ host: '127.0.0.1', port });
    let received = '';
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.once('error', () => finish(false));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (received.includes('+PONG')) finish(true);
      else if (received.includes('-')) finish(false);
    });
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      const auth = password === undefined ? '' : `AUTH ${password}\r\n`;
      socket.write(`${auth}PING\r\n`);
    });
  });
}

/** Starts redis-server on a free port and resolves once it answers PING. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = findRedisServer();
  if (bin === undefined) throw new Error('redis-server is not installed');
  const port = await freePort();
  const tls = options.tls;
  const listen =
    tls === undefined
      ? ['--port', String(port)]
      : [
          '--port',
          '0',
          '--tls-port',
          String(port),
          '--tls-cert-file',
          tls.cert,
          '--tls-key-file',
          tls.key,
          '--tls-auth-clients',
          'no',
        ];
  const args = [
    ...listen,
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
    ...(options.args ?? []),
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
    while (!(await pings(port, options.password, tls !== undefined))) {
      if (!running) throw new Error(`redis-server exited during startup: ${output.trim()}`);
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`redis-server did not answer PING on port ${port}: ${output.trim()}`);
      }
      await sleep(50);
    }
  };

  const stop = async () => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
  };

  await launch();
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  return {
    port,
    url: `${tls === undefined ? 'redis' : 'rediss'}://${auth}127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? -1;
    },
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}
