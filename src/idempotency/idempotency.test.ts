import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import { type IdempotencyOutcome, noopMetrics } from '../metrics.js';
import {
  createIdempotency,
  type Fingerprinted,
  fingerprintOf,
  MAX_KEY_BYTES,
  type Ticket,
  validateKey,
} from './idempotency.js';
import { createMemoryIdempotencyStore } from './memory.js';
import { entryKey, type IdempotencyStore } from './store.js';

const logger = pino({ level: 'silent' });
const HOUR = 3_600_000;

function setup(store: IdempotencyStore = createMemoryIdempotencyStore({ maxKeys: 100 })) {
  const outcomes: IdempotencyOutcome[] = [];
  const idempotency = createIdempotency({
    store,
    ttlMs: HOUR,
    leaseMs: HOUR,
    metrics: { ...noopMetrics, idempotencyAnswered: (o) => outcomes.push(o) },
    logger,
  });
  let n = 0;
  const newJobId = () => `pjob_${++n}`;
  const begin = (request: Fingerprinted, key = 'key-1', producerId = 'prod_a') =>
    idempotency.begin(producerId, key, request, newJobId);
  return { idempotency, outcomes, begin };
}

const req = (payload = '{"a":1}', jobType = 'email', runAt?: Date): Fingerprinted => ({
  jobType,
  payload: Buffer.from(payload),
  runAt,
});

async function rejection(promise: Promise<unknown>): Promise<JackError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof JackError) return err;
    throw err;
  }
  throw new Error('expected a rejection, but it resolved');
}

function claimed(ticket: Ticket): Extract<Ticket, { duplicate: false }> {
  if (ticket.duplicate) throw new Error('expected a claim, got a duplicate');
  return ticket;
}

describe('validateKey', () => {
  it('accepts up to 256 bytes of UTF-8 and refuses more, counting bytes', () => {
    expect(() => validateKey('k'.repeat(MAX_KEY_BYTES))).not.toThrow();
    const long = rejectionSync(() => validateKey('k'.repeat(MAX_KEY_BYTES + 1)));
    expect(long.code).toBe('invalid_argument');
    expect(long.message).toBe('idempotency_key is 257 bytes, longer than the limit of 256 bytes');
    // 86 × 3 bytes = 258 bytes in 86 characters.
    expect(rejectionSync(() => validateKey('€'.repeat(86))).code).toBe('invalid_argument');
  });

  it('refuses a key that has no UTF-8 form', () => {
    const err = rejectionSync(() => validateKey('abc\uD800'));
    expect(err.code).toBe('invalid_argument');
    expect(err.message).toBe('idempotency_key is not valid UTF-8');
    expect(err.reason).toBe('validation_error');
  });
});

function rejectionSync(fn: () => void): JackError {
  try {
    fn();
  } catch (err) {
    if (err instanceof JackError) return err;
    throw err;
  }
  throw new Error('expected a throw');
}

describe('entryKey', () => {
  // Redis keys are built from it: replicas of two versions must agree on them.
  it('is the producer byte length, the producer and the key, joined by colons', () => {
    expect(entryKey('prod_a', 'key-1')).toBe('6:prod_a:key-1');
    expect(entryKey('pröd', 'k:1')).toBe('5:pröd:k:1');
  });

  it('keeps pairs apart whose ids share a colon', () => {
    expect(entryKey('a:b', 'c')).not.toBe(entryKey('a', 'b:c'));
  });
});

describe('fingerprintOf', () => {
  it('depends on job type, payload and run_at, and on nothing else', () => {
    const at = new Date(1_800_000_000_000);
    const base = fingerprintOf(req('p', 't', at));
    expect(fingerprintOf(req('p', 't', new Date(at.getTime())))).toBe(base);
    expect(fingerprintOf(req('q', 't', at))).not.toBe(base);
    expect(fingerprintOf(req('p', 'u', at))).not.toBe(base);
    expect(fingerprintOf(req('p', 't', new Date(at.getTime() + 1)))).not.toBe(base);
    expect(fingerprintOf(req('p', 't'))).not.toBe(base);
    // Moving bytes between job type and payload is a different request.
    expect(fingerprintOf(req('b', 'a'))).not.toBe(fingerprintOf(req('', 'ab')));
  });
});

describe('idempotency', () => {
  it('answers a repeat of an accepted request with its job id, as a duplicate', async () => {
    const { begin, outcomes } = setup();
    const first = claimed(await begin(req()));
    expect(first.jobId).toBe('pjob_1');
    await first.settle(undefined);
    expect(await begin(req())).toEqual({ duplicate: true, jobId: 'pjob_1' });
    expect(outcomes).toEqual(['claimed', 'duplicate']);
  });

  it('refuses another request with a used key: ALREADY_EXISTS naming the job', async () => {
    const { begin, outcomes } = setup();
    await claimed(await begin(req())).settle(undefined);
    const err = await rejection(begin(req('{"a":2}')));
    expect(err.code).toBe('already_exists');
    expect(err.reason).toBe('idempotency_conflict');
    expect(err.message).toBe(
      'idempotency key key-1 was used for job pjob_1 with a different request',
    );
    expect(outcomes).toEqual(['claimed', 'conflict']);
  });

  it('answers ABORTED while the first call is in flight, whatever the request', async () => {
    const { begin, outcomes } = setup();
    claimed(await begin(req()));
    for (const request of [req(), req('other')]) {
      const err = await rejection(begin(request));
      expect(err.code).toBe('aborted');
      expect(err.reason).toBe('in_progress');
      expect(err.message).toBe('a call with this idempotency key is in progress');
    }
    expect(outcomes).toEqual(['claimed', 'in_progress', 'in_progress']);
  });

  it('releases the key after a definite failure: the next call gets a new job id', async () => {
    const { begin } = setup();
    for (const failure of [
      new JackError('invalid_argument', 'bad'),
      new JackError('internal', 'broken'),
      new JackError('cancelled', 'gone'),
      new Error('not a JackError'),
    ]) {
      const first = claimed(await begin(req()));
      await first.settle(failure);
      const next = claimed(await begin(req('a different request is fine now')));
      expect(next.jobId).not.toBe(first.jobId);
      await next.settle(new JackError('internal', 'again'));
    }
  });

  it('after an unknown outcome, retries the same request under the same job id', async () => {
    const { begin, outcomes } = setup();
    for (const code of ['unavailable', 'deadline_exceeded'] as const) {
      const key = `key-${code}`;
      const first = claimed(await begin(req(), key));
      await first.settle(new JackError(code, 'publish timed out'));
      // Another request may not take a key whose job may exist.
      expect((await rejection(begin(req('other'), key))).code).toBe('already_exists');
      const retry = claimed(await begin(req(), key));
      expect(retry.jobId).toBe(first.jobId);
      await retry.settle(undefined);
      expect(await begin(req(), key)).toEqual({ duplicate: true, jobId: first.jobId });
    }
    expect(outcomes.filter((o) => o === 'retried')).toHaveLength(2);
  });

  it('scopes keys to their producer', async () => {
    const { begin } = setup();
    await claimed(await begin(req(), 'shared', 'prod_a')).settle(undefined);
    const other = claimed(await begin(req('x'), 'shared', 'prod_b'));
    expect(other.jobId).toBe('pjob_2');
    // The length prefix keeps ("a:b", "c") and ("a", "b:c") apart.
    claimed(await begin(req(), 'c', 'a:b'));
    claimed(await begin(req(), 'b:c', 'a'));
  });

  it('answers UNAVAILABLE when the store fails, and counts it', async () => {
    const broken: IdempotencyStore = {
      ...createMemoryIdempotencyStore({ maxKeys: 10 }),
      claim: () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:6379')),
    };
    const { begin, outcomes } = setup(broken);
    const err = await rejection(begin(req()));
    expect(err.code).toBe('unavailable');
    expect(err.message).toBe('the idempotency store cannot be reached; retry later');
    expect(outcomes).toEqual(['store_error']);
  });

  it('keeps the job outcome when settling fails: the key stays pending, not lost', async () => {
    const memory = createMemoryIdempotencyStore({ maxKeys: 10 });
    const flaky: IdempotencyStore = {
      ...memory,
      complete: () => Promise.reject(new Error('connection lost')),
    };
    const { begin, outcomes } = setup(flaky);
    const first = claimed(await begin(req()));
    await expect(first.settle(undefined)).resolves.toBeUndefined();
    expect((await rejection(begin(req()))).code).toBe('aborted');
    expect(outcomes).toEqual(['claimed', 'store_error', 'in_progress']);
  });

  it('checks the key before touching the store', async () => {
    const { begin, outcomes } = setup();
    const err = await rejection(begin(req(), 'k'.repeat(300)));
    expect(err.code).toBe('invalid_argument');
    expect(outcomes).toEqual([]);
  });
});
