/**
 * Idempotency keys in Redis, shared by every replica on one REDIS_URL. One
 * hash per entry: s = state (p pending, d done), j = job id, f = fingerprint,
 * l = lease end (epoch ms, Redis's own clock so replicas' clocks do not
 * matter), t = owner token. Each transition is one Lua script, so a check
 * and its write are atomic; entries expire by PEXPIRE (IDEMPOTENCY_TTL).
 *
 * The connection fails commands at once while Redis is down (no offline
 * queue, bounded command time, `src/redis.ts`): a call with a key then gets
 * UNAVAILABLE instead of waiting.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { JackError } from '../errors.js';
import type { RedisConnection } from '../redis.js';
import type { ClaimResult, IdempotencyStore } from './store.js';

/** Namespace of Jack's idempotency entries in a Redis shared with other uses. */
export const KEY_PREFIX = 'jack:idempotency:';

// KEYS[1] entry; ARGV fingerprint, jobId, leaseMs, ttlMs, token.
const CLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = redis.call('HMGET', KEYS[1], 's', 'j', 'f', 'l')
if not e[1] then
  redis.call('HSET', KEYS[1], 's', 'p', 'j', ARGV[2], 'f', ARGV[1], 'l', now + tonumber(ARGV[3]), 't', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {'claimed', ARGV[2], '0'}
end
if e[1] == 'd' then return {'done', e[2], e[3]} end
local stale = tonumber(e[4]) <= now
if stale and e[3] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'l', now + tonumber(ARGV[3]), 't', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {'claimed', e[2], '1'}
end
return {'pending', e[2], e[3], stale and '1' or '0'}
`;
// KEYS[1] entry; ARGV token, ttlMs. Done entries have no token, so only the owner's pending matches.
const COMPLETE = `
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 's', 'd')
redis.call('HDEL', KEYS[1], 'l', 't')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;
// KEYS[1] entry; ARGV token.
const RELEASE = `
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;
const ABANDON = `
if redis.call('HGET', KEYS[1], 't') ~= ARGV[1] then return 0 end
return redis.call('HSET', KEYS[1], 'l', '0')
`;

interface IdempotencyCommands {
  jackIdemClaim(key: string, ...args: string[]): Promise<string[]>;
  jackIdemComplete(key: string, token: string, ttlMs: string): Promise<number>;
  jackIdemRelease(key: string, token: string): Promise<number>;
  jackIdemAbandon(key: string, token: string): Promise<number>;
}

export interface RedisIdempotencyOptions {
  connection: RedisConnection;
}

export function createRedisIdempotencyStore(options: RedisIdempotencyOptions): IdempotencyStore {
  const client = options.connection.client as Redis & Partial<IdempotencyCommands>;
  // defineCommand sends EVALSHA and falls back to EVAL once per server
  // (after a restart the script cache is empty).
  if (client.jackIdemClaim === undefined) {
    client.defineCommand('jackIdemClaim', { numberOfKeys: 1, lua: CLAIM });
    client.defineCommand('jackIdemComplete', { numberOfKeys: 1, lua: COMPLETE });
    client.defineCommand('jackIdemRelease', { numberOfKeys: 1, lua: RELEASE });
    client.defineCommand('jackIdemAbandon', { numberOfKeys: 1, lua: ABANDON });
  }
  const commands = client as Redis & IdempotencyCommands;

  /** Every Redis failure is a retryable one for the caller; the cause is logged by the caller. */
  const run = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      throw new JackError('unavailable', 'the idempotency store (Redis) cannot be reached', {
        cause: err,
      });
    }
  };

  return {
    kind: 'redis',

    async claim(request): Promise<ClaimResult> {
      const token = randomUUID();
      const reply = await run(() =>
        commands.jackIdemClaim(
          KEY_PREFIX + request.key,
          request.fingerprint,
          request.jobId,
          String(request.leaseMs),
          String(request.ttlMs),
          token,
        ),
      );
      const [kind, jobId = '', third = ''] = reply;
      switch (kind) {
        case 'claimed':
          return { kind, jobId, token, retry: third === '1' };
        case 'done':
          return { kind, jobId, fingerprint: third };
        case 'pending':
          return { kind, jobId, fingerprint: third, stale: reply[3] === '1' };
        default:
          throw new JackError('internal', `unexpected idempotency store reply: ${String(kind)}`);
      }
    },

    async complete(key, token, ttlMs) {
      await run(() => commands.jackIdemComplete(KEY_PREFIX + key, token, String(ttlMs)));
    },

    async release(key, token) {
      await run(() => commands.jackIdemRelease(KEY_PREFIX + key, token));
    },

    async abandon(key, token) {
      await run(() => commands.jackIdemAbandon(KEY_PREFIX + key, token));
    },

    // The connection is shared (src/redis.ts); its owner closes it.
    async close() {},
  };
}
