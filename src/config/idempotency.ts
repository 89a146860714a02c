/** The idempotency section (SPEC §9): how long and how many keys are remembered. */
import { DEFAULTS } from './defaults.js';
import type { Parser } from './parser.js';

/** SPEC §9: idempotency keys, in Redis when REDIS_URL is set, else in process. */
export interface IdempotencyConfig {
  /** IDEMPOTENCY_TTL: how long a key remembers its job. */
  ttlMs: number;
  /** IDEMPOTENCY_MAX_KEYS: bound of the in-process store. */
  maxKeys: number;
}

export function parseIdempotency(p: Parser): IdempotencyConfig {
  return {
    ttlMs: p.positiveDuration('IDEMPOTENCY_TTL') ?? DEFAULTS.idempotencyTtlMs,
    maxKeys: p.positiveInt('IDEMPOTENCY_MAX_KEYS') ?? DEFAULTS.idempotencyMaxKeys,
  };
}
