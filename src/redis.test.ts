import { describe, expect, it } from 'vitest';
import { reconnectDelayMs, redactRedisUrl, redisOptionsFromUrl } from './redis.js';

describe('redisOptionsFromUrl', () => {
  it('reads host, port, db, user and a percent-encoded password', () => {
    expect(redisOptionsFromUrl('redis://jack:p%40ss@cache.internal:6380/2')).toEqual({
      host: 'cache.internal',
      port: 6380,
      db: 2,
      username: 'jack',
      password: 'p@ss',
    });
  });

  it('defaults to port 6379 and db 0; rediss:// turns TLS on with the host as SNI name', () => {
    expect(redisOptionsFromUrl('rediss://:pw@10.0.0.3')).toEqual({
      host: '10.0.0.3',
      port: 6379,
      db: 0,
      password: 'pw',
      tls: { servername: '10.0.0.3' },
    });
    expect(redisOptionsFromUrl('redis://[::1]:7000')).toMatchObject({ host: '::1', port: 7000 });
  });

  it('rejects other schemes and bad databases without echoing the URL', () => {
    expect(() => redisOptionsFromUrl('http://:secret@host')).toThrow(
      'REDIS_URL must start with redis:// or rediss://',
    );
    expect(() => redisOptionsFromUrl('redis://:secret@host/x')).toThrow(/database/);
    expect(() => redisOptionsFromUrl('not a url :secret')).toThrow(/not a URL/);
    try {
      redisOptionsFromUrl('http://:secret@host');
    } catch (err) {
      expect(String(err)).not.toContain('secret');
    }
  });
});

describe('redactRedisUrl', () => {
  it('drops user and password', () => {
    expect(redactRedisUrl('rediss://user:secret@host:6380/1')).toBe('rediss://host:6380/1');
    expect(redactRedisUrl('redis://:secret@host')).toBe('redis://host');
  });
});

describe('reconnectDelayMs', () => {
  it('grows by 100 ms per attempt and stays at 1 s', () => {
    expect([1, 2, 5, 10, 50].map(reconnectDelayMs)).toEqual([100, 200, 500, 1000, 1000]);
  });
});
