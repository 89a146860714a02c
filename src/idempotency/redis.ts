/**
 * Idempotency keys in Redis, shared by every replica on one REDIS_URL. One
 * string per entry, `state|staleBelow|nonce|jobId|fingerprint`:
 *
 * - state `p` pending, `a` pending with its lease ended (abandoned), `d` done;
 * - staleBelow: a pending entry's lease has run out once the key's remaining
 *   time to live (PTTL) is at or below this many ms. The entry is written
 *   with PX = TTL and staleBelow = TTL − lease, so the lease is measured by
 *   Redis's own clock and replicas' clocks do not matter;
 * - nonce: a random UUID per claim, so the whole pending value is the
 *   owner's token: settling compares it with what the key holds.
 *
 * A new key costs one plain `SET … PX ttl NX` (atomic: it writes only when
 * the key is absent) and one short Lua script to complete it. Only a key
 * that is already taken (a duplicate, a call in flight, a retry) runs the
 * claim script, which reads the entry and decides in one step. Job ids are
 * base62 (no `|`); the fingerprint is the rest of the value. Needs Redis 6.0
 * or later (`SET … KEEPTTL`).
 *
 * The connection fails commands at once while Redis is down (no offline
 * queue, bounded command time, `src/redis.ts`): a call with a key then gets
 * UNAVAILABLE instead of waiting.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { JackError } from '../errors.js';
import type { RedisConnection } from '../redis.js';
import type { ClaimRequest, ClaimResult, IdempotencyStore } from './store.js';

/** Namespace of Jack's idempotency entries in a Redis shared with other uses. */
export const KEY_PREFIX = 'jack:idempotency:';

// KEYS[1] entry; ARGV new pending value, ttlMs, fingerprint, prefix of a
// retry's value (`p|staleBelow|nonce|`). A key that is absent again is
// claimed; a pending one whose lease ran out is taken over by the same
// request, keeping its job id; anything else (done, in flight, unreadable)
// is handed back as it is.
const CLAIM_EXISTING = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return {'claimed', ARGV[1]}
end
local state, below, job, fp = string.match(v, '^(%a)|(%-?%d*)|[^|]*|([^|]*)|(.*)$')
if state ~= 'p' and state ~= 'a' then return {'existing', v, '0'} end
local stale = state == 'a' or redis.call('PTTL', KEYS[1]) <= tonumber(below)
if not stale then return {'existing', v, '0'} end
if fp ~= ARGV[3] then return {'existing', v, '1'} end
local mine = ARGV[4] .. job .. '|' .. fp
redis.call('SET', KEYS[1], mine, 'PX', ARGV[2])
return {'retried', mine, job}
`;
// KEYS[1] entry; ARGV token (the owner's pending value), done value, ttlMs.
const COMPLETE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;
// KEYS[1] entry; ARGV token.
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;
// KEYS[1] entry; ARGV token, abandoned value (same entry, state `a`).
const ABANDON = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`;

interface IdempotencyCommands {
  jackIdemClaimExisting(key: string, ...args: string[]): Promise<string[]>;
  jackIdemComplete(key: string, token: string, done: string, ttlMs: string): Promise<number>;
  jackIdemRelease(key: string, token: string): Promise<number>;
  jackIdemAbandon(key: string, token: string, abandoned: string): Promise<number>;
}

interface Entry {
  state: string;
  jobId: string;
  fingerprint: string;
}

/** The parts of a stored value (or a token), or undefined for one Jack did not write. */
function parseEntry(value: string): Entry | undefined {
  const b = value.indexOf('|', 2);
  const c = value.indexOf('|', b + 1);
  const d = value.indexOf('|', c + 1);
  const state = value[0];
  if (value[1] !== '|' || b < 0 || c < 0 || d < 0) return undefined;
  if (state !== 'p' && state !== 'a' && state !== 'd') return undefined;
  return { state, jobId: value.slice(c + 1, d), fingerprint: value.slice(d + 1) };
}

/** An existing entry as a claim's answer. */
function answer(value: string, stale: boolean): ClaimResult {
  const entry = parseEntry(value);
  if (entry === undefined) {
    throw new JackError('internal', 'the idempotency store holds an entry Jack cannot read');
  }
  const { state, jobId, fingerprint } = entry;
  return state === 'd'
    ? { kind: 'done', jobId, fingerprint }
    : { kind: 'pending', jobId, fingerprint, stale };
}

export interface RedisIdempotencyOptions {
  connection: RedisConnection;
}

export function createRedisIdempotencyStore(options: RedisIdempotencyOptions): IdempotencyStore {
  const client = options.connection.client as Redis & Partial<IdempotencyCommands>;
  // defineCommand sends EVALSHA and falls back to EVAL once per server
  // (after a restart the script cache is empty).
  if (client.jackIdemClaimExisting === undefined) {
    client.defineCommand('jackIdemClaimExisting', { numberOfKeys: 1, lua: CLAIM_EXISTING });
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

  /** The slow path: the key holds an entry (done, pending, or gone again since). */
  const claimExisting = async (
    key: string,
    request: ClaimRequest,
    value: string,
    prefix: string,
  ): Promise<ClaimResult> => {
    // [kind, value, job id of a retry | '1' when an existing entry is stale]
    const [kind = '', current = '', third = ''] = await run(() =>
      commands.jackIdemClaimExisting(
        key,
        value,
        String(request.ttlMs),
        request.fingerprint,
        prefix,
      ),
    );
    if (kind === 'claimed') return { kind, jobId: request.jobId, token: current, retry: false };
    if (kind === 'retried') return { kind: 'claimed', jobId: third, token: current, retry: true };
    return answer(current, third === '1');
  };

  return {
    kind: 'redis',

    async claim(request): Promise<ClaimResult> {
      const key = KEY_PREFIX + request.key;
      const prefix = `p|${request.ttlMs - request.leaseMs}|${randomUUID()}|`;
      const value = `${prefix}${request.jobId}|${request.fingerprint}`;
      const written = await run(() => client.set(key, value, 'PX', request.ttlMs, 'NX'));
      return written === 'OK'
        ? { kind: 'claimed', jobId: request.jobId, token: value, retry: false }
        : claimExisting(key, request, value, prefix);
    },

    async complete(key, token, ttlMs) {
      // A token that is no entry owns nothing.
      const owner = parseEntry(token);
      if (owner === undefined) return;
      const done = `d|0||${owner.jobId}|${owner.fingerprint}`;
      await run(() => commands.jackIdemComplete(KEY_PREFIX + key, token, done, String(ttlMs)));
    },

    async release(key, token) {
      await run(() => commands.jackIdemRelease(KEY_PREFIX + key, token));
    },

    async abandon(key, token) {
      await run(() => commands.jackIdemAbandon(KEY_PREFIX + key, token, `a${token.slice(1)}`));
    },

    // The connection is shared (src/redis.ts); its owner closes it.
    async close() {},
  };
}
