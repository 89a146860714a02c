/**
 * The Redis connection module against a real redis-server: readiness,
 * password, outage and reconnection on the same port, idempotent close,
 * and no password in any log line.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createRedisConnection, type RedisConnection } from '../../src/redis.js';
import { logSink } from '../support/jack.js';
import { type RedisServer, redisAvailable, startRedisServer } from '../support/redis.js';
import { selfSignedCertificate } from '../support/tls.js';

const PASSWORD = 's3cret-pa$$word';

describe.skipIf(!redisAvailable())('Redis connection (real redis-server)', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer({ password: PASSWORD });
  });
  afterAll(async () => {
    await server?.stop();
  });

  function connect(url: string): { conn: RedisConnection } {
    const sink = logSink();
    return {
      conn: createRedisConnection({ url, logger: createLogger({ level: 'debug' }, sink.stream) }),
    };
  }

  it('connects with the password from the URL and answers commands', async () => {
    const { conn } = connect(server.url);
    try {
      expect(await conn.waitUntilReady(5000)).toBe(true);
      expect(conn.ready).toBe(true);
      expect(await conn.client.ping()).toBe('PONG');
      expect(conn.target).toBe(`redis://127.0.0.1:${server.port}`);
    } finally {
      await conn.close();
    }
  });

  it('never becomes ready with a wrong password, and never logs it', async () => {
    const sink = logSink();
    const conn = createRedisConnection({
      url: `redis://:wrong-${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.port}`,
      logger: createLogger({ level: 'trace' }, sink.stream),
    });
    try {
      expect(await conn.waitUntilReady(1000)).toBe(false);
      await expect(conn.client.ping()).rejects.toThrow();
      const text = JSON.stringify(sink.lines);
      expect(sink.lines.some((l) => l.msg === 'redis unreachable; retrying')).toBe(true);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('wrong-');
    } finally {
      await conn.close();
    }
  });

  it('fails commands fast while Redis is down and reconnects on the same port', async () => {
    const sink = logSink();
    const conn = createRedisConnection({
      url: server.url,
      logger: createLogger({ level: 'debug' }, sink.stream),
    });
    const changes: boolean[] = [];
    conn.onReadyChange((ready) => changes.push(ready));
    try {
      expect(await conn.waitUntilReady(5000)).toBe(true);
      await server.stop();
      await expect.poll(() => conn.ready, { timeout: 3000 }).toBe(false);
      const started = Date.now();
      await expect(conn.client.ping()).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(500);

      await server.restart();
      expect(await conn.waitUntilReady(5000)).toBe(true);
      expect(await conn.client.ping()).toBe('PONG');
      expect(changes).toEqual([true, false, true]);
      expect(sink.lines.some((l) => l.msg === 'redis connection lost; reconnecting')).toBe(true);
      expect(JSON.stringify(sink.lines)).not.toContain(PASSWORD);
    } finally {
      await conn.close();
    }
  });

  it('close() is idempotent and leaves the connection not ready', async () => {
    const { conn } = connect(server.url);
    expect(await conn.waitUntilReady(5000)).toBe(true);
    await Promise.all([conn.close(), conn.close()]);
    await conn.close();
    expect(conn.ready).toBe(false);
    expect(await conn.waitUntilReady(10)).toBe(false);
  });
});

describe.skipIf(!redisAvailable())('Redis connection over TLS (rediss://)', () => {
  let server: RedisServer;
  let ca: string;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-redis-tls-'));
    const pair = await selfSignedCertificate(dir, 'localhost', ['127.0.0.1']);
    ca = await readFile(pair.cert, 'utf8');
    server = await startRedisServer({ password: PASSWORD, tls: pair });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('connects with TLS and a password when the CA is given', async () => {
    expect(server.url.startsWith('rediss://')).toBe(true);
    const sink = logSink();
    const conn = createRedisConnection({
      url: server.url,
      ca,
      logger: createLogger({ level: 'debug' }, sink.stream),
    });
    try {
      expect(await conn.waitUntilReady(5000)).toBe(true);
      expect(await conn.client.ping()).toBe('PONG');
      expect(JSON.stringify(sink.lines)).not.toContain(PASSWORD);
    } finally {
      await conn.close();
    }
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const sink = logSink();
    const conn = createRedisConnection({
      url: server.url,
      logger: createLogger({ level: 'debug' }, sink.stream),
    });
    try {
      expect(await conn.waitUntilReady(1000)).toBe(false);
      expect(sink.lines.some((l) => l.msg === 'redis unreachable; retrying')).toBe(true);
    } finally {
      await conn.close();
    }
  });
});
