import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { createCallTracker } from './call-tracker.js';
import { createCallContext, isShadow } from './context.js';

function metadata(...values: string[]): Metadata {
  const md = new Metadata();
  for (const value of values) md.add('shadow', value);
  return md;
}

describe('isShadow', () => {
  it.each([
    { values: ['true'], shadow: true },
    { values: ['TRUE'], shadow: true },
    { values: ['tRuE'], shadow: true },
    { values: [' true '], shadow: true },
    { values: ['false', 'true'], shadow: true },
    { values: ['false'], shadow: false },
    { values: ['1'], shadow: false },
    { values: ['yes'], shadow: false },
    { values: [''], shadow: false },
    { values: [], shadow: false },
  ])('shadow: $values → $shadow', ({ values, shadow }) => {
    expect(isShadow(metadata(...values))).toBe(shadow);
  });

  it('reads the key case-insensitively, as gRPC metadata keys are', () => {
    const md = new Metadata();
    md.set('Shadow', 'true');
    expect(isShadow(md)).toBe(true);
  });
});

describe('createCallTracker', () => {
  it('resolves idle() only when the last call in flight finishes', async () => {
    const calls = createCallTracker();
    await calls.idle();
    calls.start();
    calls.start();
    let idle = false;
    const waiting = calls.idle().then(() => {
      idle = true;
    });
    calls.finish();
    await Promise.resolve();
    expect(idle).toBe(false);
    expect(calls.inFlight).toBe(1);
    calls.finish();
    await waiting;
    expect(idle).toBe(true);
    expect(calls.inFlight).toBe(0);
  });
});

describe('createCallContext', () => {
  /** The parts of a grpc-js unary call a context reads. */
  function fakeCall(cancelled = false) {
    const listeners: Array<() => void> = [];
    return {
      metadata: new Metadata(),
      cancelled,
      once(_event: 'cancelled', fn: () => void) {
        listeners.push(fn);
      },
      listeners,
      getAuthContext: () => ({}),
    };
  }
  const method = { service: 'jack.BackgroundJobs', method: 'Enqueue', path: '/x/y' };

  it('reads cancellation from the call without making an abort signal', () => {
    const call = fakeCall();
    const ctx = createCallContext(call as never, method);
    expect(ctx.cancelled).toBe(false);
    call.cancelled = true;
    expect(ctx.cancelled).toBe(true);
    // No listener was registered: the hot path created no AbortController.
    expect(call.listeners).toHaveLength(0);
  });

  it('makes the signal on demand; it aborts with a prepared reason, not a DOMException per call', () => {
    const call = fakeCall();
    const ctx = createCallContext(call as never, method);
    const signal = ctx.signal;
    expect(signal.aborted).toBe(false);
    for (const fire of call.listeners) fire();
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(Error);
    expect((signal.reason as Error).name).not.toBe('AbortError');
    expect(createCallContext(fakeCall(true) as never, method).signal.aborted).toBe(true);
  });
});
