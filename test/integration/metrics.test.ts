import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState } from '../../src/gen/jack/jobs.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { report } from '../support/jobs.js';

/** One sample line of Prometheus text: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (match === null) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with exactly these labels (0 when absent). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} is ambiguous`);
  return found[0]?.value ?? 0;
}

const job = (producerId: string, payload = '{}') => ({
  producerId,
  jobType: 'send_email',
  payload: Buffer.from(payload),
  runAt: undefined,
  traceId: '',
  correlationId: '',
  idempotencyKey: '',
});

describe('Prometheus metrics on METRICS_PORT', () => {
  let jack: RunningJack;
  let url: string;

  const scrape = async (): Promise<Sample[]> => {
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    return parseExposition(await response.text());
  };

  beforeAll(async () => {
    jack = await startJack({ METRICS_PORT: '0' });
    expect(jack.app.metricsPort).toBeGreaterThan(0);
    url = `http://127.0.0.1:${jack.app.metricsPort}/metrics`;
  });
  afterAll(async () => {
    await jack.close();
  });

  it('counts calls, jobs, publishes and bulk sizes with bounded labels', async () => {
    const before = await scrape();

    await call(jack.jobs, 'enqueue', job('prod_a'));
    await call(jack.jobs, 'enqueue', job('prod_b'));
    const refused = await callError(call(jack.jobs, 'enqueue', job('')));
    expect(refused.code).toBe(status.INVALID_ARGUMENT);
    const bulk = await call(jack.jobs, 'enqueueBulk', {
      jobs: [job('prod_a'), job('prod_a'), job('')],
    });
    expect(bulk.results.map((r) => r.reason)).toEqual(['', '', 'validation_error']);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels);

    expect(delta('jack_grpc_calls_total', { method: 'Enqueue', code: 'OK' })).toBe(2);
    expect(delta('jack_grpc_calls_total', { method: 'Enqueue', code: 'INVALID_ARGUMENT' })).toBe(1);
    expect(delta('jack_grpc_calls_total', { method: 'EnqueueBulk', code: 'OK' })).toBe(1);

    // Unregistered job types route to MEDIUM; refused-before-routing has no priority.
    expect(delta('jack_jobs_total', { priority: 'medium', outcome: 'published' })).toBe(4);
    expect(delta('jack_jobs_total', { priority: 'none', outcome: 'refused' })).toBe(2);

    expect(delta('jack_enqueue_duration_seconds_count', { method: 'Enqueue', code: 'OK' })).toBe(2);
    expect(
      delta('jack_enqueue_duration_seconds_count', {
        method: 'Enqueue',
        code: 'INVALID_ARGUMENT',
      }),
    ).toBe(1);
    expect(
      delta('jack_enqueue_duration_seconds_count', { method: 'EnqueueBulk', code: 'OK' }),
    ).toBe(1);
    expect(delta('jack_publish_duration_seconds_count', { priority: 'medium', result: 'ok' })).toBe(
      4,
    );

    expect(delta('jack_bulk_size_jobs_count')).toBe(1);
    expect(delta('jack_bulk_size_jobs_sum')).toBe(3);
    expect(delta('jack_bulk_size_jobs_bucket', { le: '2' })).toBe(0);
    expect(delta('jack_bulk_size_jobs_bucket', { le: '5' })).toBe(1);

    // No producer or job id ever becomes a label value.
    const labelValues = after.flatMap((s) => Object.values(s.labels));
    expect(labelValues).not.toContain('prod_a');
    expect(labelValues).not.toContain('send_email');
  });

  it('counts admin calls by method and code', async () => {
    const before = await scrape();
    const missing = await callError(call(jack.admin, 'getProducer', { producerId: 'nobody' }));
    const after = await scrape();
    // Both sides stated independently: the call must be NOT_FOUND, and the
    // counter must say NOT_FOUND (not whatever code the call happened to get).
    expect(missing.code).toBe(status.NOT_FOUND);
    const labels = { method: 'GetProducer', code: 'NOT_FOUND' };
    expect(
      value(after, 'jack_grpc_calls_total', labels) -
        value(before, 'jack_grpc_calls_total', labels),
    ).toBe(1);
  });

  it('reports health per service, store refreshes and the default process metrics', async () => {
    const samples = await scrape();
    expect(value(samples, 'jack_health_serving', { service: '' })).toBe(1);
    expect(value(samples, 'jack_health_serving', { service: 'jack.BackgroundJobs' })).toBe(1);
    expect(value(samples, 'jack_health_serving', { service: 'jack.AdminService' })).toBe(1);
    expect(value(samples, 'jack_store_refreshes_total', { result: 'ok' })).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('answers 404 outside /metrics', async () => {
    const response = await fetch(`http://127.0.0.1:${jack.app.metricsPort}/`);
    expect(response.status).toBe(404);
    await response.text();
  });

  it('keeps each app its own registry', async () => {
    const other = await startJack({ METRICS_PORT: '0' });
    try {
      await call(other.jobs, 'enqueue', job('prod_c'));
      const otherText = await (
        await fetch(`http://127.0.0.1:${other.app.metricsPort}/metrics`)
      ).text();
      expect(
        value(parseExposition(otherText), 'jack_grpc_calls_total', {
          method: 'Enqueue',
          code: 'OK',
        }),
      ).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('counts ledger transitions and the pickup latency of a first RUNNING, by priority (SPEC §14)', async () => {
    const pickups = (samples: Sample[]) =>
      ['immediate', 'high', 'medium', 'low'].reduce(
        (sum, priority) =>
          sum + value(samples, 'jack_job_pickup_latency_seconds_count', { priority }),
        0,
      );
    const before = await scrape();
    const { jobId } = await call(jack.jobs, 'enqueue', job('prod_ledger'));
    const running = report({ jobId, producerId: 'prod_ledger', jobType: 'send_email' });
    await call(jack.ledger, 'reportJobStatus', running);
    await call(jack.ledger, 'reportJobStatus', { ...running, state: JobState.JOB_STATE_SUCCEEDED });
    const after = await scrape();
    for (const state of ['queued', 'running', 'succeeded']) {
      expect(
        value(after, 'jack_job_transitions_total', { state }) -
          value(before, 'jack_job_transitions_total', { state }),
      ).toBe(1);
    }
    expect(pickups(after) - pickups(before)).toBe(1);
    // The lane's promise is an edge of the histogram.
    expect(
      after.some((s) => s.name === 'jack_job_pickup_latency_seconds_bucket' && s.labels.le === '5'),
    ).toBe(true);
  });
});
