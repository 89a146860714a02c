/**
 * A real PostgreSQL for tests: `initdb` into a temp directory, `pg_ctl
 * start` on a free port (127.0.0.1) with a Unix socket directory of its own,
 * stopped by its PID. PostgreSQL refuses to run as root, so as root every
 * command runs as the `postgres` user (`runuser -u postgres --`) in a
 * directory that user owns.
 *
 * One cluster per test run (test/support/global-setup.ts starts it and
 * provides its URL); one database per test file (`createDatabase`). An
 * outage test starts a cluster of its own and uses `stop()` / `restart()`,
 * which keep the port.
 *
 * Without PostgreSQL, `postgresAvailable()` prints a loud notice and returns
 * false on a laptop, and throws under CI=true.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from './pubsub-emulator.ts';

/** The superuser's password in every test cluster (password auth over TCP, like production). */
export const TEST_POSTGRES_PASSWORD = 'jack-test-secret';

export interface PostgresCluster {
  readonly port: number;
  /** postgres://postgres:…@127.0.0.1:PORT/postgres — the maintenance database. */
  readonly url: string;
  /** PID of the postmaster; -1 while stopped. */
  readonly pid: number;
  /** Fast shutdown by PID (SIGINT), waiting for the process to go. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop). */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** The directory holding initdb and pg_ctl, or undefined when PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  const explicit = process.env.POSTGRES_BIN_DIR;
  if (explicit !== undefined && explicit !== '') {
    return existsSync(join(explicit, 'pg_ctl')) ? explicit : undefined;
  }
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' });
  const onPath = which.stdout.trim();
  if (which.status === 0 && onPath !== '') return onPath.replace(/\/pg_ctl$/, '');
  // Debian keeps the server binaries off PATH, one directory per major version.
  const debian = '/usr/lib/postgresql';
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian)
    .filter((v) => existsSync(join(debian, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(debian, versions[0], 'bin');
}

let noticePrinted = false;

/**
 * True when PostgreSQL can run. Missing: throws under CI=true; otherwise
 * prints a loud notice (once) and returns false, for `describe.skipIf`.
 */
export function postgresAvailable(): boolean {
  if (findPostgresBin() !== undefined) return true;
  if (process.env.CI === 'true') {
    throw new Error(
      'CI=true but PostgreSQL is not installed (apt-get install -y postgresql): ledger tests cannot be skipped in CI',
    );
  }
  if (!noticePrinted) {
    noticePrinted = true;
    const bar = '!'.repeat(78);
    process.stderr.write(
      `\n${bar}\n!! PostgreSQL NOT FOUND: every PostgreSQL ledger test is SKIPPED.\n!! Install it (apt-get install postgresql) or set POSTGRES_BIN_DIR.\n${bar}\n\n`,
    );
  }
  return false;
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL tool (as `postgres` when we are root); throws with its output on failure. */
function run(bin: string, tool: string, args: string[], timeoutMs = 60_000): string {
  const command = asRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, tool), ...args], {
        encoding: 'utf8',
        timeout: timeoutMs,
      })
    : spawnSync(join(bin, tool), args, { encoding: 'utf8', timeout: timeoutMs });
  if (command.status !== 0) {
    throw new Error(
      `${tool} failed (${command.status ?? command.signal}): ${`${command.stdout}${command.stderr}`.trim().slice(-2000)}`,
    );
  }
  return command.stdout;
}

/** Makes `path` belong to the postgres user (when we are root). */
function giveToPostgres(path: string): void {
  if (!asRoot) return;
  const chown = spawnSync('chown', ['-R', 'postgres:postgres', path]);
  if (chown.status !== 0) throw new Error(`chown postgres ${path} failed`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export interface PostgresOptions {
  /**
   * Serve TLS with this certificate and key (PEM files) and refuse every
   * TCP connection without it (pg_hba `hostssl` only).
   */
  tls?: { cert: string; key: string };
}

/** initdb into a fresh temp directory, then start the cluster on a free port. */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error('PostgreSQL is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'jack-pg-'));
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const sockets = join(dir, 'sockets');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${TEST_POSTGRES_PASSWORD}\n`);
  spawnSync('mkdir', ['-p', sockets]);
  giveToPostgres(dir);
  run(bin, 'initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    `--pwfile=${pwfile}`,
    '--no-sync',
    '-E',
    'UTF8',
    '--locale=C',
  ]);
  const tlsOptions: string[] = [];
  if (options.tls !== undefined) {
    // The server reads its key only when it is private to the server's user.
    copyFileSync(options.tls.cert, join(data, 'server.crt'));
    copyFileSync(options.tls.key, join(data, 'server.key'));
    chmodSync(join(data, 'server.key'), 0o600);
    giveToPostgres(data);
    const hba = join(data, 'pg_hba.conf');
    writeFileSync(hba, readFileSync(hba, 'utf8').replace(/^host(\s)/gm, 'hostssl$1'));
    tlsOptions.push('-c ssl=on');
  }
  const port = await freePort();
  const serverOptions = [
    `-p ${port}`,
    `-k ${sockets}`,
    '-c listen_addresses=127.0.0.1',
    // A test cluster: nothing here has to survive a crash of the machine.
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
    ...tlsOptions,
  ].join(' ');
  let pid = -1;

  const start = async () => {
    run(bin, 'pg_ctl', [
      'start',
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-t',
      '60',
      '-o',
      serverOptions,
    ]);
    pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const url = `postgres://postgres:${TEST_POSTGRES_PASSWORD}@127.0.0.1:${port}/postgres`;
    const ssl = options.tls === undefined ? undefined : { rejectUnauthorized: false };
    const deadline = Date.now() + 20_000;
    for (;;) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000, ssl });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return;
      } catch (err) {
        await client.end().catch(() => {});
        if (Date.now() > deadline) throw err;
        await sleep(100);
      }
    }
  };

  const stop = async () => {
    if (pid === -1) return;
    const stopping = pid;
    pid = -1;
    try {
      process.kill(stopping, 'SIGINT'); // fast shutdown: disconnects every client
    } catch {
      return;
    }
    const deadline = Date.now() + 15_000;
    while (alive(stopping)) {
      if (Date.now() > deadline) {
        process.kill(stopping, 'SIGKILL');
        await sleep(200);
        break;
      }
      await sleep(50);
    }
  };

  await start();
  return {
    port,
    url: `postgres://postgres:${TEST_POSTGRES_PASSWORD}@127.0.0.1:${port}/postgres`,
    get pid() {
      return pid;
    },
    stop,
    async restart() {
      await stop();
      await start();
    },
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let databases = 0;

/**
 * Creates a fresh database on the cluster of `clusterUrl` and answers its
 * URL; each test file (or fixture) gets its own.
 */
export async function createDatabase(clusterUrl: string, prefix = 'jack_test'): Promise<string> {
  databases += 1;
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${databases}`.toLowerCase();
  const client = new pg.Client({ connectionString: clusterUrl, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
