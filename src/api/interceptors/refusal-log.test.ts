import { describe, expect, it } from 'vitest';
import { JackError } from '../../errors.js';
import { inProgressError } from '../../idempotency/idempotency.js';
import { createRefusalSampler, isExpectedRefusal, refusalKey } from './refusal-log.js';

describe('expected refusals', () => {
  it('are the rate-limited and in-progress refusals only', () => {
    const limited = new JackError('resource_exhausted', 'rate limit exceeded', {
      reason: 'rate_limited',
    });
    expect(isExpectedRefusal(limited)).toBe(true);
    expect(isExpectedRefusal(inProgressError())).toBe(true);
    // RESOURCE_EXHAUSTED for another cause (a message too large) is no flood of retries.
    expect(isExpectedRefusal(new JackError('resource_exhausted', 'too big'))).toBe(false);
    expect(isExpectedRefusal(new JackError('aborted', 'store conflict'))).toBe(false);
    expect(isExpectedRefusal(new Error('x'))).toBe(false);
  });

  it('are keyed by method, code and a bounded producer id', () => {
    expect(refusalKey('Enqueue', 'ABORTED', { producerId: 'p' })).toBe('Enqueue ABORTED p');
    expect(refusalKey('EnqueueBulk', 'ABORTED', {})).toBe('EnqueueBulk ABORTED ');
    expect(refusalKey('Enqueue', 'X', { producerId: 'p'.repeat(5000) })).toHaveLength(
      'Enqueue X '.length + 256,
    );
  });
});

describe('refusal sampler', () => {
  it('logs one refusal per key per interval and reports the ones it held back', () => {
    let t = 0;
    const sampler = createRefusalSampler({ intervalMs: 1000, now: () => t });
    expect(sampler.take('a')).toEqual({ log: true, suppressed: 0 });
    for (let i = 0; i < 5; i++) expect(sampler.take('a').log).toBe(false);
    // Another key has its own window.
    expect(sampler.take('b')).toEqual({ log: true, suppressed: 0 });
    t = 999;
    expect(sampler.take('a').log).toBe(false);
    t = 1000;
    expect(sampler.take('a')).toEqual({ log: true, suppressed: 6 });
    t = 5000;
    expect(sampler.take('a')).toEqual({ log: true, suppressed: 0 });
  });

  it('remembers a bounded number of keys', () => {
    let t = 0;
    const sampler = createRefusalSampler({ maxKeys: 3, now: () => t });
    for (const key of ['a', 'b', 'c']) sampler.take(key);
    // Full, and every window still open: making room forgets them all.
    expect(sampler.take('d')).toEqual({ log: true, suppressed: 0 });
    expect(sampler.take('a')).toEqual({ log: true, suppressed: 0 });
    t = 2000;
    sampler.take('e');
    expect(sampler.take('d').log).toBe(true);
  });
});
