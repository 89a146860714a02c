/**
 * The one Redis connection of Jack (SPEC §8 rate limits, §9 idempotency
 * keys), on ioredis. Built from REDIS_URL (`redis://` or `rediss://`, with
 * an optional user and password). The lifecycle follows bullmq's
 * RedisConnection (taskforcesh/bullmq src/classes/redis-connection.ts): the
 * client's `error` event always has a listener (an unhandled one would
 * crash the process or print to stderr), `ready`/`close` drive a readiness
 * flag, and `close()` quits once however often it is called.
 *
 * Policy: admission must never wait for Redis. Commands are not queued
 * while disconnected (`enableOfflineQueue: false`): they fail at once and
 * the caller falls back (the limiter to per-replica buckets). The client
 * reconnects forever with a short capped backoff, so a restarted Redis is
 * used again within about a second.
 *
 * The password never reaches a log line: logs name the redacted target
 * (`redis://host:port/db`) and ioredis' own messages carry no credentials.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { JackError } from './errors.js';

export interface RedisConnectionOptions {
  /** REDIS_URL: redis://[user[:password]@]host[:port][/db] or rediss://… (TLS). */
  url: string;
  logger: Logger;
  /** CLIENT SETNAME, to tell Jack's connections apart in `CLIENT LIST`. */
  connectionName?: string;
  /** Time to establish the TCP/TLS connection before a retry, ms. */
  connectTimeoutMs?: number;
  /** Upper bound of one command once sent, ms (a hung Redis must not hang calls). */
  commandTimeoutMs?: number;
  /**
   * PEM CA certificate(s) to trust for rediss:// (REDIS_CA_FILE, e.g.
   * Memorystore's server CA) instead of the system store.
   */
  ca?: string;
}

export interface RedisConnection {
  /** The ioredis client; commands fail fast while `ready` is false. */
  readonly client: Redis;
  /** `redis[s]://host:port/db`, without credentials: the only form that is logged. */
  readonly target: string;
  /** True between the server's `ready` and the next disconnect. */
  readonly ready: boolean;
  /** Resolves true once ready, false after `timeoutMs` or once closed. */
  waitUntilReady(timeoutMs: number): Promise<boolean>;
  /** Called on every readiness change; returns an unsubscribe function. */
  onReadyChange(listener: (ready: boolean) => void): () => void;
  /** Quits (then disconnects if quit does not answer). Safe to call twice. */
  close(): Promise<void>;
}

/** Reconnect delay after the n-th failed attempt, ms: 100, 200, … capped at 1 s. */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(Math.max(attempt, 1) * 100, 1000);
}

/**
 * ioredis options for a REDIS_URL. Throws a JackError (without the URL,
 * which may hold a password) when it is not a redis:// or rediss:// URL.
 */
export function redisOptionsFromUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new JackError('invalid_argument', 'REDIS_URL is not a URL (redis://host:port)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new JackError('invalid_argument', 'REDIS_URL must start with redis:// or rediss://');
  }
  if (parsed.hostname === '') throw new JackError('invalid_argument', 'REDIS_URL has no host');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const dbText = parsed.pathname.replace(/^\/+/, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) {
    throw new JackError('invalid_argument', 'REDIS_URL database (the path) must be a number');
  }
  // URL keeps IPv6 hosts in brackets; sockets want them bare.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const options: RedisOptions = { host, port, db };
  if (parsed.username !== '') options.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') options.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') options.tls = { servername: host };
  return options;
}

/** The URL without user and password, for log lines and errors. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

/** Connects in the background; never throws for an unreachable server. */
export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  const target = redactRedisUrl(options.url);
  const logger = options.logger.child({ redis: target });
  const redisOptions = redisOptionsFromUrl(options.url);
  if (redisOptions.tls !== undefined && options.ca !== undefined) {
    redisOptions.tls = { ...redisOptions.tls, ca: options.ca };
  }
  const client = new Redis({
    ...redisOptions,
    connectionName: options.connectionName ?? 'jack',
    connectTimeout: options.connectTimeoutMs ?? 2000,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    enableOfflineQueue: false,
    // One retry of a command that was in flight when the socket dropped;
    // more would keep a call waiting for a server that is gone.
    maxRetriesPerRequest: 1,
    // Many concurrent calls share one write: the Redis round trip is paid
    // once per event-loop tick, not once per call.
    enableAutoPipelining: true,
    retryStrategy: reconnectDelayMs,
  });

  let ready = false;
  let closed = false;
  /** Logged once per outage, not once per reconnect attempt. */
  let outageLogged = false;
  const listeners = new Set<(ready: boolean) => void>();
  const setReady = (value: boolean) => {
    if (ready === value) return;
    ready = value;
    for (const listener of listeners) listener(value);
  };

  client.on('ready', () => {
    outageLogged = false;
    logger.info('redis connected');
    setReady(true);
  });
  client.on('error', (err: Error & { code?: string }) => {
    if (closed || outageLogged) return;
    outageLogged = true;
    // The message and code only: an ioredis error object can carry the
    // command and its arguments.
    logger.warn({ code: err.code, reason: err.message }, 'redis unreachable; retrying');
  });
  client.on('close', () => {
    if (ready && !closed) logger.warn('redis connection lost; reconnecting');
    setReady(false);
  });

  let closing: Promise<void> | undefined;
  return {
    client,
    target,
    get ready() {
      return ready;
    },
    waitUntilReady(timeoutMs) {
      if (ready) return Promise.resolve(true);
      if (closed) return Promise.resolve(false);
      return new Promise((resolve) => {
        const done = (value: boolean) => {
          clearTimeout(timer);
          listeners.delete(onChange);
          resolve(value);
        };
        const onChange = (value: boolean) => {
          if (value) done(true);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        listeners.add(onChange);
      });
    },
    onReadyChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        setReady(false);
        listeners.clear();
        if (client.status === 'ready') {
          // QUIT lets replies in flight arrive; a server that does not
          // answer within a second is simply dropped.
          const quit = client.quit().catch(() => undefined);
          const timeout = new Promise((resolve) => setTimeout(resolve, 1000).unref());
          await Promise.race([quit, timeout]);
        }
        client.disconnect(false);
      })();
      return closing;
    },
  };
}
