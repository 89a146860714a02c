import { describe, expect, it } from 'vitest';
import { configError } from '../../test/support/config-error.js';
import { loadConfig } from './index.js';

describe('admission control config (SPEC §8)', () => {
  it('reads the modes, the default rate (zero and negative = unlimited) and REDIS_URL', () => {
    expect(
      loadConfig({
        VALIDATION_MODE: 'enforce',
        RATE_LIMIT_MODE: 'enforce',
        DEFAULT_RATE_LIMIT_RPS: '-1',
        REDIS_URL: 'rediss://:p%40ss@10.0.0.3:6378/2',
        REDIS_CA_FILE: '/etc/memorystore-ca.pem',
      }).admission,
    ).toEqual({
      validationMode: 'enforce',
      rateLimitMode: 'enforce',
      defaultRateLimitRps: -1,
      redisUrl: 'rediss://:p%40ss@10.0.0.3:6378/2',
      redisCaFile: '/etc/memorystore-ca.pem',
    });
    expect(loadConfig({ REDIS_URL: 'redis://cache' }).admission.redisUrl).toBe('redis://cache');
  });

  it('rejects bad values, naming the variable and never echoing REDIS_URL', () => {
    expect(
      configError({
        VALIDATION_MODE: 'strict',
        RATE_LIMIT_MODE: 'on',
        DEFAULT_RATE_LIMIT_RPS: '10.5',
        REDIS_URL: 'http://:hunter2@cache:6379',
      }).problems,
    ).toEqual([
      'VALIDATION_MODE="strict" is not one of warn|enforce',
      'RATE_LIMIT_MODE="on" is not one of off|enforce',
      'DEFAULT_RATE_LIMIT_RPS="10.5" is not a whole number',
      'REDIS_URL is not a redis:// or rediss:// URL (redis[s]://[user:password@]host[:port][/db])',
    ]);
    expect(configError({ REDIS_URL: 'redis://:hunter2@' }).message).not.toContain('hunter2');
    expect(configError({ REDIS_URL: 'redis://cache', REDIS_CA_FILE: 'ca.pem' }).problems).toEqual([
      'REDIS_CA_FILE is set but REDIS_URL is not a rediss:// (TLS) URL',
    ]);
  });
});
