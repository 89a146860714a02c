import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from './prometheus-metrics.js';

describe('prometheus metrics of the job ledger', () => {
  it('exposes transitions by state, pickup latency per priority at each lane promise, and the buffer', async () => {
    const registry = new Registry();
    const metrics = createPrometheusMetrics(registry);
    metrics.jobTransition('running');
    metrics.jobPickedUp('immediate', 4);
    metrics.jobPickedUp('low', 200);
    metrics.ledgerWriteFailed(3);
    metrics.ledgerBufferDepth(7);
    metrics.ledgerRecordsDropped(2);
    const text = await registry.metrics();
    expect(text).toContain('jack_job_transitions_total{state="running"} 1');
    expect(text).toContain('jack_job_transitions_total{state="dead"} 0');
    for (const edge of ['5', '15', '60', '300']) {
      expect(text).toContain(
        `jack_job_pickup_latency_seconds_bucket{priority="high",le="${edge}"} 0`,
      );
    }
    expect(text).toContain('jack_job_pickup_latency_seconds_bucket{priority="immediate",le="5"} 1');
    expect(text).toContain('jack_job_pickup_latency_seconds_bucket{priority="low",le="60"} 0');
    expect(text).toContain('jack_job_pickup_latency_seconds_bucket{priority="low",le="300"} 1');
    expect(text).toContain('jack_ledger_write_failures_total 3');
    expect(text).toContain('jack_ledger_buffer_records 7');
    expect(text).toContain('jack_ledger_dropped_records_total 2');
  });
});
