/** The admission section (SPEC §8) and the Redis it shares state through. */
import { DEFAULTS } from './defaults.js';
import type { Parser } from './parser.js';

/** SPEC §8 admission control, and the Redis it shares state through. */
export interface AdmissionConfig {
  /** warn: unregistered producers/job types pass with a warning; enforce: NOT_FOUND. */
  validationMode: 'warn' | 'enforce';
  /** enforce: per-producer token buckets (rate_limit_rps). */
  rateLimitMode: 'off' | 'enforce';
  /** Rate of unregistered producers, jobs/s; ≤ 0 = unlimited. */
  defaultRateLimitRps: number;
  /** REDIS_URL (may hold a password: never log it); undefined = per-replica state. */
  redisUrl: string | undefined;
  /** REDIS_CA_FILE: PEM CA to trust for rediss:// instead of the system store. */
  redisCaFile: string | undefined;
}

export function parseAdmission(p: Parser, problems: string[]): AdmissionConfig {
  const validationMode = p.oneOf('VALIDATION_MODE', ['warn', 'enforce'] as const) ?? 'warn';
  const rateLimitMode = p.oneOf('RATE_LIMIT_MODE', ['off', 'enforce'] as const) ?? 'off';
  const defaultRateLimitRps = p.integer('DEFAULT_RATE_LIMIT_RPS') ?? DEFAULTS.defaultRateLimitRps;
  const redisUrl = p.string('REDIS_URL');
  // The value is never echoed: it may carry the Redis password.
  if (redisUrl !== undefined && !isRedisUrl(redisUrl)) {
    problems.push(
      'REDIS_URL is not a redis:// or rediss:// URL (redis[s]://[user:password@]host[:port][/db])',
    );
  }
  const redisCaFile = p.string('REDIS_CA_FILE');
  if (redisCaFile !== undefined && !redisUrl?.startsWith('rediss://')) {
    problems.push('REDIS_CA_FILE is set but REDIS_URL is not a rediss:// (TLS) URL');
  }
  return { validationMode, rateLimitMode, defaultRateLimitRps, redisUrl, redisCaFile };
}

function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (
      (url.protocol === 'redis:' || url.protocol === 'rediss:') &&
      url.hostname !== '' &&
      /^\/?\d*$/.test(url.pathname) &&
      url.search === ''
    );
  } catch {
    return false;
  }
}
