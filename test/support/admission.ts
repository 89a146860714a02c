/**
 * Helpers of the SPEC §8 tests: producers with a chosen rate limit, and a
 * load driver that sends single Enqueue calls at a fixed rate and counts
 * the answers by status.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { status } from '@grpc/grpc-js';
import { newProducerId } from '../../src/admin/producers.js';
import { call, enqueueRequest, type RunningJack } from './jack.js';

/**
 * Registers a producer with `rateLimitRps` straight in the store (the
 * admin API creates producers at the default rate) and returns its id.
 */
export async function registerProducer(
  jack: RunningJack,
  name: string,
  rateLimitRps: number,
  producerId: string = newProducerId(),
): Promise<string> {
  const at = new Date();
  await jack.app.store.createProducer({
    producerId,
    name: `${name}-${producerId}`,
    description: '',
    rateLimitRps,
    principals: [],
    createdAt: at,
    updatedAt: at,
  });
  return producerId;
}

export interface DriveResult {
  ok: number;
  limited: number;
  /** Codes other than OK and RESOURCE_EXHAUSTED (none expected). */
  other: number[];
  /** From the first call to the last answer, s: the time buckets had to refill. */
  seconds: number;
}

/**
 * Sends `perSecond` Enqueue calls per second for `ms`, spread over the
 * replicas in turn, in ticks of 50 ms; waits for every answer.
 */
export async function driveEnqueue(
  replicas: readonly RunningJack[],
  producerId: string,
  perSecond: number,
  ms: number,
): Promise<DriveResult> {
  const result: DriveResult = { ok: 0, limited: 0, other: [], seconds: 0 };
  const calls: Promise<void>[] = [];
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((perSecond * tickMs) / 1000));
  const started = performance.now();
  let sent = 0;
  for (let tick = 0; tick * tickMs < ms; tick++) {
    await sleep(Math.max(0, started + tick * tickMs - performance.now()));
    for (let k = 0; k < perTick; k++) {
      const jack = replicas[sent % replicas.length] as RunningJack;
      sent += 1;
      const request = enqueueRequest({ producerId, jobType: 'load', payload: Buffer.from('{}') });
      calls.push(
        call(jack.jobs, 'enqueue', request).then(
          () => {
            result.ok += 1;
          },
          (err: { code: number }) => {
            if (err.code === status.RESOURCE_EXHAUSTED) result.limited += 1;
            else result.other.push(err.code);
          },
        ),
      );
    }
  }
  await Promise.all(calls);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}
