/**
 * State shared by replicas (SPEC §8, §9): the one Redis connection, the rate
 * limits and the idempotency keys, each in Redis when REDIS_URL is set and
 * per replica otherwise. ioredis and the Redis adapters load only then.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { createMemoryLimiter } from '../admission/memory.js';
import { createRateLimit, type RateLimit } from '../admission/rate-limit.js';
import { type Config, DEFAULTS } from '../config/index.js';
import { JackError } from '../errors.js';
import { createIdempotency, type Idempotency } from '../idempotency/idempotency.js';
import { createMemoryIdempotencyStore } from '../idempotency/memory.js';
import type { Metrics } from '../metrics.js';
import type { RedisConnection } from '../redis.js';
import type { Store } from '../storage/store.js';

/**
 * Idempotency keys (SPEC §9): in Redis when there is a connection, else in
 * process. A claim's lease outlasts the slowest enqueue (a schedule and a
 * publish are each bounded by PUBSUB_PUBLISH_TIMEOUT), so only the claim of
 * a replica that died runs out.
 */
export async function openIdempotency(
  config: Readonly<Config>,
  logger: Logger,
  metrics: Metrics,
  redis: RedisConnection | undefined,
): Promise<Idempotency> {
  const publishTimeoutMs =
    config.backend.kind !== 'noop'
      ? config.backend.publishTimeoutMs
      : DEFAULTS.pubsubPublishTimeoutMs;
  const common = {
    ttlMs: config.idempotency.ttlMs,
    leaseMs: 2 * publishTimeoutMs + 1_000,
    metrics,
    logger,
  };
  if (redis === undefined) {
    logger.info(
      { maxKeys: config.idempotency.maxKeys },
      'idempotency keys are kept in process: de-duplication is per replica (set REDIS_URL to share keys between replicas)',
    );
    const store = createMemoryIdempotencyStore({ maxKeys: config.idempotency.maxKeys });
    return createIdempotency({ store, ...common });
  }
  const { createRedisIdempotencyStore } = await import('../idempotency/redis.js');
  logger.info({ redis: redis.target }, 'idempotency keys are kept in Redis, shared by replicas');
  return createIdempotency({
    store: createRedisIdempotencyStore({ connection: redis }),
    ...common,
  });
}

/**
 * How long startup waits for Redis before serving anyway, ms: rate limits
 * then fall back to per-replica buckets and keyed calls get UNAVAILABLE.
 */
const REDIS_STARTUP_WAIT_MS = 2000;

/** The Redis connection when REDIS_URL is set; ioredis is loaded only then. */
export async function openRedis(
  config: Readonly<Config>,
  logger: Logger,
): Promise<RedisConnection | undefined> {
  const url = config.admission.redisUrl;
  if (url === undefined) return undefined;
  const { createRedisConnection } = await import('../redis.js');
  const caFile = config.admission.redisCaFile;
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = await readFile(caFile, 'utf8');
    } catch (err) {
      throw new JackError(
        'failed_precondition',
        `REDIS_CA_FILE=${caFile} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
        { cause: err },
      );
    }
  }
  const redis = createRedisConnection({ url, logger, ca });
  // Serving never waits for Redis (the limiter falls back), but a short
  // wait lets the first calls share buckets in the normal case.
  if (!(await redis.waitUntilReady(REDIS_STARTUP_WAIT_MS))) {
    logger.warn({ redis: redis.target }, 'redis not reachable at startup; serving without it');
  }
  return redis;
}

/** SPEC §8 rate limits: off, per replica (memory), or shared through Redis. */
export async function openRateLimit(
  config: Readonly<Config>,
  logger: Logger,
  metrics: Metrics,
  store: Store,
  redis: RedisConnection | undefined,
): Promise<RateLimit> {
  const { rateLimitMode, defaultRateLimitRps } = config.admission;
  const options = { store, defaultRps: defaultRateLimitRps, metrics };
  if (rateLimitMode === 'off') return createRateLimit({ ...options, limiter: undefined });
  if (redis === undefined) {
    logger.info('rate limits per replica (no REDIS_URL): N replicas admit up to N x each rate');
    return createRateLimit({ ...options, limiter: createMemoryLimiter() });
  }
  const { createRedisLimiter } = await import('../admission/redis.js');
  const limiter = createRedisLimiter({
    connection: redis,
    fallback: createMemoryLimiter(),
    logger,
    metrics,
  });
  logger.info({ redis: redis.target }, 'rate limits shared by every replica through redis');
  return createRateLimit({ ...options, limiter });
}
