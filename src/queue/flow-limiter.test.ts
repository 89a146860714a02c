import { describe, expect, it } from 'vitest';
import { FlowLimiter } from './flow-limiter.js';

describe('FlowLimiter (publisher flow control)', () => {
  /** Acquires and records when the message is admitted. */
  function acquire(limiter: FlowLimiter, bytes: number, admitted: string[], name: string) {
    const waiting = limiter.acquire(bytes);
    if (waiting === undefined) admitted.push(name);
    else void waiting.admitted.then(() => admitted.push(name));
    return waiting;
  }
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('admits up to the message limit, then queues in order until room is released', async () => {
    const limiter = new FlowLimiter(2, 1_000_000);
    const admitted: string[] = [];
    acquire(limiter, 10, admitted, 'a');
    acquire(limiter, 10, admitted, 'b');
    acquire(limiter, 10, admitted, 'c');
    acquire(limiter, 10, admitted, 'd');
    await settle();
    expect(admitted).toEqual(['a', 'b']);
    limiter.release(10);
    await settle();
    expect(admitted).toEqual(['a', 'b', 'c']);
    limiter.release(10);
    await settle();
    expect(admitted).toEqual(['a', 'b', 'c', 'd']);
  });

  it('bounds bytes in flight, but lets one oversized message through alone', async () => {
    const limiter = new FlowLimiter(100, 100);
    const admitted: string[] = [];
    acquire(limiter, 60, admitted, 'a');
    acquire(limiter, 60, admitted, 'b');
    await settle();
    expect(admitted).toEqual(['a']);
    limiter.release(60);
    await settle();
    expect(admitted).toEqual(['a', 'b']);
    limiter.release(60);
    acquire(limiter, 500, admitted, 'huge');
    await settle();
    expect(admitted).toEqual(['a', 'b', 'huge']);
  });

  it('never admits a waiter that was cancelled (its caller was already told UNAVAILABLE)', async () => {
    const limiter = new FlowLimiter(1, 1_000_000);
    const admitted: string[] = [];
    acquire(limiter, 10, admitted, 'a');
    const timedOut = acquire(limiter, 10, admitted, 'timed-out');
    acquire(limiter, 10, admitted, 'next');
    timedOut?.cancel();
    limiter.release(10);
    await settle();
    expect(admitted).toEqual(['a', 'next']);
  });
});
