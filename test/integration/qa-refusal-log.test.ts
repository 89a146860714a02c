/**
 * QA of the call log under a flood (SPEC §5 logs, §8): a producer far past
 * its rate limit must not write one warn line per refusal. Expected
 * refusals get at most one warn line per producer per second, carrying how
 * many were held back; LOG_LEVEL=debug still shows each one; every other
 * failed call keeps its own warn line.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerProducer } from '../support/admission.js';
import {
  call,
  callError,
  enqueueRequest,
  type LogLine,
  type RunningJack,
  startJack,
} from '../support/jack.js';

describe('QA: the log of a producer flooding past its rate limit', () => {
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack({ RATE_LIMIT_MODE: 'enforce', LOG_LEVEL: 'debug' });
  });
  afterAll(async () => {
    await jack?.close();
  });

  const enqueue = (producerId: string, jobType = 'flood') =>
    call(jack.jobs, 'enqueue', enqueueRequest({ producerId, jobType }));
  /** Sends `n` calls at once; the number refused with RESOURCE_EXHAUSTED. */
  const flood = async (producerId: string, n: number) => {
    const codes = await Promise.all(
      Array.from({ length: n }, () =>
        enqueue(producerId).then(
          () => status.OK,
          (e) => e.code,
        ),
      ),
    );
    expect(codes.every((c) => c === status.OK || c === status.RESOURCE_EXHAUSTED)).toBe(true);
    return codes.filter((c) => c === status.RESOURCE_EXHAUSTED).length;
  };
  const refusalLines = (producerId: string, level: string): LogLine[] =>
    jack.logs.filter(
      (l) =>
        l.level === level &&
        l.msg === 'call failed' &&
        l.code === 'RESOURCE_EXHAUSTED' &&
        String(l.details).includes(producerId),
    );

  it('writes one warn line per producer per second with the count it held back', async () => {
    const noisy = await registerProducer(jack, 'noisy', 1);
    const other = await registerProducer(jack, 'other', 1);
    let refused = (await Promise.all([flood(noisy, 40), flood(other, 5)]))[0];
    expect(refused).toBeGreaterThanOrEqual(30);
    // A second later the bucket holds one token again: one call passes, the
    // next is refused and opens a new window, reporting the held-back ones.
    await sleep(1100);
    await enqueue(noisy);
    expect((await callError(enqueue(noisy))).code).toBe(status.RESOURCE_EXHAUSTED);
    refused += 1;

    const warned = refusalLines(noisy, 'warn');
    expect(warned.length).toBeGreaterThanOrEqual(2);
    // 40+ refusals; a slow machine may straddle a window edge or two.
    expect(warned.length).toBeLessThanOrEqual(4);
    expect(warned[0]?.suppressed).toBe(0);
    const reported = warned.reduce((sum, l) => sum + 1 + Number(l.suppressed), 0);
    expect(reported).toBe(refused);
    // Held back from warn, not lost: each refusal still has its debug line.
    expect(warned.length + refusalLines(noisy, 'debug').length).toBe(refused);
    // The other producer's refusals have their own window.
    expect(refusalLines(other, 'warn').length).toBeGreaterThanOrEqual(1);
    expect(refusalLines(other, 'warn')[0]?.suppressed).toBe(0);
  });

  it('keeps one warn line per failed call for every other failure', async () => {
    const before = jack.logs.filter((l) => l.code === 'INVALID_ARGUMENT').length;
    for (let i = 0; i < 3; i++) {
      expect((await callError(enqueue('prod_x', ''))).code).toBe(status.INVALID_ARGUMENT);
    }
    const lines = jack.logs.filter((l) => l.code === 'INVALID_ARGUMENT');
    expect(lines.length - before).toBe(3);
    expect(lines.every((l) => l.level === 'warn' && l.suppressed === undefined)).toBe(true);
  });
});
