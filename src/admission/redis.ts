/**
 * Token buckets shared by every replica, in Redis, with per-replica buckets
 * as insurance (SPEC §8). One EVALSHA (at most one per call) takes tokens from every
 * bucket the call needs, atomically, with Redis' own clock (replicas with
 * skewed clocks still agree). Calls of the same event-loop turn share one
 * script (see `flush`), and ioredis auto-pipelining sends the scripts of
 * the turns in flight in one write.
 *
 * Why a script and not rate-limiter-flexible's RateLimiterRedis: that one
 * is a fixed-window counter (up to twice the rate across a window edge, not
 * the token bucket SPEC §8 describes) and its consume(N) is all-or-nothing
 * and counts refused points; a bulk call must get as many tokens as there
 * are and pay nothing for the rest, in one round trip.
 *
 * When Redis cannot answer (down, not ready, slower than `timeoutMs`) the
 * call is served by the memory limiter; the switch is logged once and
 * reported as a metric. Redis is tried again after `retryAfterMs`, or at
 * once when the connection becomes ready; the first success switches back.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { toError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { RedisConnection } from '../redis.js';
import type { Limiter, TakeRequest, TakeResult } from './limiter.js';

/** Mirrors `takeFromBucket` in limiter.ts. Returns {granted, wait in µs} per key. */
const TAKE_TOKENS_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local out = {}
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[2 * i - 1])
  local count = tonumber(ARGV[2 * i])
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(state[1])
  local at = tonumber(state[2])
  if tokens == nil or at == nil then
    tokens = rate
    at = now
  end
  if now > at then
    tokens = tokens + (now - at) * rate / 1000
    at = now
  end
  if tokens > rate then tokens = rate end
  local granted = math.max(0, math.min(count, math.floor(tokens)))
  tokens = tokens - granted
  redis.call('HSET', key, 'tokens', string.format('%.6f', tokens), 'at', string.format('%.3f', at))
  -- Idle for a second, a bucket is full again: as good as absent.
  redis.call('PEXPIRE', key, 2000)
  local wait = 0
  if granted < count then wait = math.ceil((1 - tokens) * 1000000 / rate) end
  out[i] = {granted, wait}
end
return out
`;

const COMMAND = 'jackTakeTokens';
const KEY_PREFIX = 'jack:rate:';

type ScriptClient = Redis & {
  [COMMAND](numKeys: number, ...args: (string | number)[]): Promise<[number, number][]>;
};

export interface RedisLimiterOptions {
  connection: RedisConnection;
  /** Serves calls while Redis cannot (per-replica buckets). */
  fallback: Limiter;
  logger: Logger;
  metrics: Pick<Metrics, 'rateLimiterFallback'>;
  /** Longest wait for Redis before a call uses the fallback, ms. */
  timeoutMs?: number;
  /** After a failure, calls skip Redis for this long, ms (unless it reconnects sooner). */
  retryAfterMs?: number;
}

export function createRedisLimiter(options: RedisLimiterOptions): Limiter {
  const { connection, fallback, logger, metrics } = options;
  const timeoutMs = options.timeoutMs ?? 500;
  const retryAfterMs = options.retryAfterMs ?? 1000;
  const client = connection.client as ScriptClient;
  client.defineCommand(COMMAND, { lua: TAKE_TOKENS_LUA });

  let shared = true;
  let skipRedisUntil = 0;
  const setShared = (value: boolean, reason?: string) => {
    if (shared === value) return;
    shared = value;
    metrics.rateLimiterFallback(!value);
    if (value) logger.info('rate limiter: buckets shared through redis again');
    else {
      logger.warn(
        { reason },
        'rate limiter: redis unreachable, each replica limits on its own until it returns',
      );
    }
  };
  metrics.rateLimiterFallback(false);
  const unsubscribe = connection.onReadyChange((ready) => {
    if (ready) skipRedisUntil = 0;
    else setShared(false, 'connection lost');
  });

  /** Takes from Redis in one script; throws when Redis does not answer in time. */
  const takeFromRedis = async (requests: readonly TakeRequest[]): Promise<TakeResult[]> => {
    const args: (string | number)[] = requests.map((r) => KEY_PREFIX + r.key);
    for (const r of requests) args.push(r.ratePerSecond, r.count);
    let timer: NodeJS.Timeout | undefined;
    try {
      const replies = await Promise.race([
        client[COMMAND](requests.length, ...args),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs}ms`)), timeoutMs);
        }),
      ]);
      return replies.map(([granted, waitMicros]) => ({
        granted: Number(granted),
        retryAfterMs: Number(waitMicros) / 1000,
      }));
    } finally {
      clearTimeout(timer);
    }
  };

  /**
   * Calls that arrive in the same event-loop turn share one script: a
   * producer's counts are added up, taken at once, and the tokens handed
   * back in arrival order. At c=64 this turns dozens of EVALSHAs (each
   * costing Jack CPU to encode, send and parse) into one.
   */
  let batch: { requests: readonly TakeRequest[]; resolve: (r: TakeResult[]) => void }[] = [];
  const flush = async () => {
    const calls = batch;
    batch = [];
    const merged = new Map<string, TakeRequest>();
    for (const { requests } of calls) {
      for (const r of requests) {
        const seen = merged.get(r.key);
        merged.set(r.key, {
          key: r.key,
          ratePerSecond: r.ratePerSecond,
          count: (seen?.count ?? 0) + r.count,
        });
      }
    }
    const keys = [...merged.values()];
    let taken: TakeResult[];
    try {
      taken = await takeFromRedis(keys);
      setShared(true);
    } catch (err) {
      skipRedisUntil = performance.now() + retryAfterMs;
      setShared(false, toError(err).message);
      for (const call of calls) call.resolve(await fallback.take(call.requests));
      return;
    }
    const left = new Map<string, { tokens: number; retryAfterMs: number }>();
    keys.forEach((k, i) => {
      const result = taken[i] ?? { granted: 0, retryAfterMs: 1 };
      left.set(k.key, { tokens: result.granted, retryAfterMs: result.retryAfterMs });
    });
    for (const call of calls) {
      call.resolve(
        call.requests.map((r) => {
          const bucket = left.get(r.key) ?? { tokens: 0, retryAfterMs: 1 };
          const granted = Math.min(r.count, bucket.tokens);
          bucket.tokens -= granted;
          return { granted, retryAfterMs: granted < r.count ? bucket.retryAfterMs : 0 };
        }),
      );
    }
  };

  return {
    get shared() {
      return shared;
    },
    async take(requests) {
      if (requests.length === 0) return [];
      if (!connection.ready || performance.now() < skipRedisUntil) {
        setShared(false, 'not connected');
        return fallback.take(requests);
      }
      return new Promise((resolve) => {
        if (batch.length === 0) setImmediate(() => void flush());
        batch.push({ requests, resolve });
      });
    },
    async close() {
      unsubscribe();
      await fallback.close();
    },
  };
}
