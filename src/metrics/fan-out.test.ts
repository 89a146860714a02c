import { describe, expect, it } from 'vitest';
import { type Metrics, noopMetrics } from '../metrics.js';
import { fanOutMetrics } from './fan-out.js';

/** A sink that records every event as `name(args)`. */
function recorder(events: string[], tag: string): Metrics {
  return new Proxy({} as Metrics, {
    get:
      (_target, name) =>
      (...args: unknown[]) =>
        events.push(`${tag}.${String(name)}(${JSON.stringify(args)})`),
  });
}

describe('fanOutMetrics', () => {
  it('is the no-op with no sink (so the metrics interceptor installs nothing) and the sink itself with one', () => {
    expect(fanOutMetrics([])).toBe(noopMetrics);
    const only = recorder([], 'a');
    expect(fanOutMetrics([only])).toBe(only);
  });

  it('hands every event of the interface to each sink, in order', () => {
    const events: string[] = [];
    const both = fanOutMetrics([recorder(events, 'a'), recorder(events, 'b')]);
    const job = { producerId: 'p', jobType: 't', priority: 'low' as const };
    both.callFinished('Enqueue', 'OK', 1);
    both.jobFinished('low', 'published');
    both.publishFinished('low', true, 2, true);
    both.jobDispatched('Enqueue', { ...job, scheduled: false, payloadBytes: 3 }, true, 4);
    both.legacyRouted(job);
    both.scheduleFinished(false, 0, 'too_large');
    both.bulkSize(5);
    both.storeRefreshed(true);
    both.duplicatePublished('low');
    both.healthChanged('', false);
    both.jobsAdmitted('p', 6);
    both.jobsRejected('p', 'rate_limited', 7);
    both.rateLimiterFallback(true);
    both.idempotencyAnswered('duplicate');
    both.jobTransition('running');
    both.jobPickedUp('immediate', 1.5);
    both.ledgerWriteFailed(2);
    both.ledgerBufferDepth(3);
    both.ledgerRecordsDropped(4);
    both.scheduledWaiting(5);
    both.scheduledPublished(0.25);
    both.connectionRefused('grpc');
    const methods = Object.keys(noopMetrics);
    expect(events).toHaveLength(methods.length * 2);
    for (const [i, method] of methods.entries()) {
      expect(events[2 * i]).toMatch(new RegExp(`^a\\.${method}\\(`));
      expect(events[2 * i + 1]).toBe(events[2 * i]?.replace(/^a\./, 'b.'));
    }
  });
});
