import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { createCallTracker } from './call-tracker.js';
import { isShadow } from './context.js';

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
