/**
 * SPEC §8 admission control over a real socket: VALIDATION_MODE=enforce
 * (codes, messages, bulk reason, payload routing) and RATE_LIMIT_MODE=enforce
 * on one replica (memory buckets): sustained rate, RetryInfo, bulk partial
 * acceptance, DEFAULT_RATE_LIMIT_RPS and the admission metrics.
 */
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeRetryDelayMs, STATUS_DETAILS_KEY } from '../../src/api/status.js';
import { RetryInfo } from '../../src/gen/google/rpc/error_details.js';
import type { EnqueueRequest } from '../../src/gen/jack/jack.js';
import { Queue } from '../../src/gen/jack/storage.js';
import { driveEnqueue, registerProducer } from '../support/admission.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { createRecordingBackend, type RecordingBackend } from '../support/recording-backend.js';
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
