/**
 * SPEC §8 admission control over a real socket: VALIDATION_MODE=enforce
 * (codes, messages, bulk reason, payload routing) and RATE_LIMIT_MODE=enforce
 * on one replica (memory buckets): sustained rate, RetryInfo, bulk partial
 * acceptance, DEFAULT_RATE_LIMIT_RPS and the admission metrics.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeRetryDelayMs, STATUS_DETAILS_KEY } from '../../src/api/status.js';
import { RetryInfo } from '../../src/gen/google/rpc/error_details.js';
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { type Producer, Queue } from '../../src/gen/jack/storage.js';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { driveEnqueue, registerProducer } from '../support/admission.js';
import {
  call,
  callError,
  enqueueRequest,
  type LogLine,
  type RunningJack,
  startJack,
} from '../support/jack.js';
import { createRecordingBackend, type RecordingBackend } from '../support/recording-backend.js';
import { type RedisServer, redisAvailable, startRedisServer } from '../support/redis.js';
import { createProducerWithJobType } from '../support/registry.js';

const job = (producerId: string, jobType: string, payload = '{}'): EnqueueRequest =>
  enqueueRequest({ producerId, jobType, payload: Buffer.from(payload) });

async function scrape(jack: RunningJack): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${jack.app.metricsPort}/metrics`);
  return response.text();
}

describe('VALIDATION_MODE=enforce', () => {
  let jack: RunningJack;
  let backend: RecordingBackend;
  let producerId: string;

  beforeAll(async () => {
    backend = createRecordingBackend();
    jack = await startJack(
      { VALIDATION_MODE: 'enforce', LEGACY_PAYLOAD_QUEUE_ROUTING: 'true', METRICS_PORT: '0' },
      { backend },
    );
    producerId = await createProducerWithJobType(jack, {
      producer: 'shop',
      jobType: 'ship',
      queue: Queue.QUEUE_HIGH,
      maxRetries: 4,
    });
  });
  afterAll(async () => {
    await jack?.close();
  });

  it('refuses an unregistered producer with NOT_FOUND and publishes nothing', async () => {
    backend.reset();
    expect(await callError(call(jack.jobs, 'enqueue', job('prod_nobody', 'ship')))).toEqual({
      code: status.NOT_FOUND,
      details: 'unregistered producer_id: prod_nobody',
    });
    expect(backend.published).toHaveLength(0);
  });

  it('refuses an unregistered job type of a registered producer with NOT_FOUND', async () => {
    expect(await callError(call(jack.jobs, 'enqueue', job(producerId, 'shipp')))).toEqual({
      code: status.NOT_FOUND,
      details: `unregistered job_type: shipp (producer: ${producerId})`,
    });
  });

  it('accepts a registered job without warnings', async () => {
    backend.reset();
    const response = await call(jack.jobs, 'enqueue', job(producerId, 'ship'));
    expect(response.errorMessages).toEqual([]);
    expect(backend.last().priority).toBe('high');
  });

  it('lets payload routing skip the job-type registry, but not the producer check', async () => {
    backend.reset();
    const routed = await call(jack.jobs, 'enqueue', job(producerId, 'adhoc', '{"queue":"low"}'));
    expect(routed.errorMessages).toEqual([]);
    expect(backend.last().priority).toBe('low');
    expect(
      await callError(call(jack.jobs, 'enqueue', job('prod_nobody', 'adhoc', '{"queue":"low"}'))),
    ).toEqual({ code: status.NOT_FOUND, details: 'unregistered producer_id: prod_nobody' });
  });

  it('fails unregistered jobs of a bulk call alone, with reason unregistered', async () => {
    backend.reset();
    const { results } = await call(jack.jobs, 'enqueueBulk', {
      jobs: [job(producerId, 'ship'), job('prod_nobody', 'ship'), job(producerId, 'nope')],
    });
    expect(results.map((r) => [r.reason, r.error])).toEqual([
      ['', ''],
      ['unregistered', 'unregistered producer_id: prod_nobody'],
      ['unregistered', `unregistered job_type: nope (producer: ${producerId})`],
    ]);
    expect(results[0]?.jobId).not.toBe('');
    expect(backend.published).toHaveLength(1);
  });

  it('counts the refusals by producer label and reason', async () => {
    const text = await scrape(jack);
    expect(text).toMatch(
      /jack_admission_rejected_jobs_total\{producer="\(unregistered\)",reason="unregistered"\} [3-9]/,
    );
    expect(text).toContain(
      `jack_admission_rejected_jobs_total{producer="${producerId}",reason="unregistered"} 2`,
    );
    expect(text).toMatch(
      new RegExp(`jack_admission_admitted_jobs_total\\{producer="${producerId}"\\} \\d`),
    );
  });
});

describe('RATE_LIMIT_MODE=enforce on one replica (memory buckets)', () => {
  let jack: RunningJack;

  beforeAll(async () => {
    jack = await startJack({
      RATE_LIMIT_MODE: 'enforce',
      DEFAULT_RATE_LIMIT_RPS: '3',
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await jack?.close();
  });

  it('admits about rate x time + one burst when driven at 5x the rate', async () => {
    const producerId = await registerProducer(jack, 'steady', 20);
    const seconds = 2;
    const result = await driveEnqueue([jack], producerId, 100, seconds * 1000);
    expect(result.other).toEqual([]);
    // Ideal: a burst of 20, then 20/s. Allow one burst of slack either way.
    expect(result.ok).toBeGreaterThanOrEqual(20 * seconds);
    expect(result.ok).toBeLessThanOrEqual(20 * result.seconds + 20 + 1);
    expect(result.limited).toBeGreaterThan(0);
  });

  it('answers RESOURCE_EXHAUSTED with a RetryInfo whose delay is in (0, 1 s]', async () => {
    const producerId = await registerProducer(jack, 'retry', 2);
    const request = job(producerId, 'any');
    await call(jack.jobs, 'enqueue', request);
    await call(jack.jobs, 'enqueue', request);
    // Jack runs in this process: count how often the refusal's RetryInfo is
    // encoded while the call passes the interceptors and the transport.
    const encode = vi.spyOn(RetryInfo, 'encode');
    let encoded = 0;
    const err = await new Promise<ServiceError>((resolve, reject) => {
      jack.jobs.enqueue(request, new Metadata(), (e) => (e ? resolve(e) : reject(new Error('ok'))));
    }).finally(() => {
      encoded = encode.mock.calls.length;
      encode.mockRestore();
    });
    expect(encoded).toBe(1);
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toBe(`rate limit exceeded for producer ${producerId} (2 jobs/s)`);
    const [bin] = err.metadata.get(STATUS_DETAILS_KEY);
    expect(Buffer.isBuffer(bin)).toBe(true);
    const delay = decodeRetryDelayMs(bin as Buffer);
    expect(delay).toBeGreaterThan(0);
    expect(delay).toBeLessThanOrEqual(1000);
  });

  it('accepts a bulk call partly: the jobs beyond the tokens fail alone with rate_limited', async () => {
    const producerId = await registerProducer(jack, 'bulky', 5);
    const { results } = await call(jack.jobs, 'enqueueBulk', {
      jobs: Array.from({ length: 8 }, () => job(producerId, 'any')),
    });
    expect(results.map((r) => r.reason)).toEqual([
      '',
      '',
      '',
      '',
      '',
      'rate_limited',
      'rate_limited',
      'rate_limited',
    ]);
    expect(results.slice(0, 5).every((r) => r.jobId !== '')).toBe(true);
    expect(results[7]?.error).toBe(`rate limit exceeded for producer ${producerId} (5 jobs/s)`);
  });

  it('limits unregistered producers at DEFAULT_RATE_LIMIT_RPS; a new limit applies to the next call', async () => {
    const stranger = `prod_stranger_${Date.now()}`;
    const first = await call(jack.jobs, 'enqueueBulk', {
      jobs: Array.from({ length: 5 }, () => job(stranger, 'any')),
    });
    expect(first.results.filter((r) => r.reason === 'rate_limited')).toHaveLength(2);
    // Registered with rate_limit_rps 0 (unlimited): the store snapshot is read per call.
    await registerProducer(jack, 'unlimited', 0, stranger);
    const second = await call(jack.jobs, 'enqueueBulk', {
      jobs: Array.from({ length: 50 }, () => job(stranger, 'any')),
    });
    expect(second.results.every((r) => r.reason === '')).toBe(true);
  });

  it('counts admitted and rate-limited jobs per producer', async () => {
    const text = await scrape(jack);
    expect(text).toMatch(
      /jack_admission_rejected_jobs_total\{producer="[^"]+",reason="rate_limited"\} \d+/,
    );
    expect(text).toMatch(/jack_admission_admitted_jobs_total\{producer="[^"]+"\} \d+/);
  });
});

/**
 * QA of SPEC §8 with §10 over real sockets: a producer's rate_limit_rps
 * changed through AdminService.UpdateProducer applies at once on the
 * replica that wrote it and within one CONFIG_REFRESH_INTERVAL on another
 * replica (two apps sharing one store) — lowered, then raised to
 * unlimited — with per-replica buckets and with buckets shared in Redis.
 */
const REFRESH_MS = 400;

/** Sends one bulk call of `n` jobs; the number admitted and the rate-limit errors. */
async function bulk(jack: RunningJack, producerId: string, n: number) {
  const { results } = await call(jack.jobs, 'enqueueBulk', {
    jobs: Array.from({ length: n }, () =>
      enqueueRequest({ producerId, jobType: 'rate', payload: Buffer.from('{}') }),
    ),
  });
  return {
    admitted: results.filter((r) => r.reason === '').length,
    errors: [...new Set(results.filter((r) => r.reason !== '').map((r) => r.error))],
    reasons: [...new Set(results.map((r) => r.reason))],
  };
}

function setRate(jack: RunningJack, producerId: string, rateLimitRps: number) {
  return call(jack.admin, 'updateProducer', {
    producer: {
      producerId,
      name: '',
      description: '',
      rateLimitRps,
      principals: [],
      createdAt: undefined,
      updatedAt: undefined,
    },
    updateMask: ['rate_limit_rps'],
  });
}

/** Polls `probe` until true; fails when that takes longer than `boundMs`. */
async function msUntil(probe: () => Promise<boolean>, boundMs: number): Promise<void> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > boundMs) throw new Error(`not within ${boundMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each([
  ['per-replica buckets', false],
  ['buckets shared in Redis', true],
])('rate_limit_rps changed by UpdateProducer (%s)', (_name, useRedis) => {
  const skip = useRedis && !redisAvailable();
  let redis: RedisServer | undefined;
  let writer: RunningJack;
  let other: RunningJack;

  beforeAll(async () => {
    if (skip) return;
    const objects = createMemoryObjects();
    if (useRedis) redis = await startRedisServer();
    const env = {
      RATE_LIMIT_MODE: 'enforce',
      CONFIG_REFRESH_INTERVAL: `${REFRESH_MS}ms`,
      LOG_LEVEL: 'warn',
      ...(redis === undefined ? {} : { REDIS_URL: redis.url }),
    };
    writer = await startJack(env, { memoryObjects: objects });
    other = await startJack(env, { memoryObjects: objects });
  });
  afterAll(async () => {
    await writer?.close();
    await other?.close();
    await redis?.stop();
  });

  it.skipIf(skip)(
    'applies at once on the replica that wrote it and within one refresh on the other',
    async () => {
      const created = await call(writer.admin, 'createProducer', { name: 'r', description: '' });
      const producerId = (created.producer as Producer).producerId;
      await other.app.store.refresh();
      // At the default 1000 jobs/s, 20 jobs pass on both replicas.
      expect((await bulk(other, producerId, 20)).admitted).toBe(20);

      await setRate(writer, producerId, 2);
      const here = await bulk(writer, producerId, 10);
      expect(here.admitted).toBeLessThanOrEqual(2);
      expect(here.errors).toEqual([`rate limit exceeded for producer ${producerId} (2 jobs/s)`]);
      expect(here.reasons).toContain('rate_limited');

      // The other replica still had 1000 jobs/s in its snapshot: it learns
      // the lower rate within one refresh (the bound leaves slack for a
      // loaded machine; a replica that never refreshed would never learn it).
      await msUntil(
        async () => (await bulk(other, producerId, 10)).admitted <= 2,
        REFRESH_MS * 3 + 1000,
      );

      // Raised to unlimited (≤ 0): every job passes again, here at once, there within a refresh.
      await setRate(writer, producerId, 0);
      expect((await bulk(writer, producerId, 50)).admitted).toBe(50);
      await msUntil(
        async () => (await bulk(other, producerId, 50)).admitted === 50,
        REFRESH_MS * 3 + 1000,
      );
    },
  );
});

/**
 * QA of the call log under a flood (SPEC §5 logs, §8): a producer far past
 * its rate limit must not write one warn line per refusal. Expected
 * refusals get at most one warn line per producer per second, carrying how
 * many were held back; LOG_LEVEL=debug still shows each one; every other
 * failed call keeps its own warn line.
 */
describe('the log of a producer flooding past its rate limit', () => {
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
