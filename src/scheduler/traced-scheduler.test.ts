import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import type { OutboundMessage } from '../queue/backend.js';
import type { Scheduler } from './scheduler.js';
import { tracedScheduler } from './traced-scheduler.js';

function setup(fail?: JackError) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const held: OutboundMessage[] = [];
  const inner: Scheduler = {
    kind: 'recording',
    async schedule(message) {
      if (fail !== undefined) throw fail;
      held.push(message);
    },
    async cancel() {},
    async check() {},
    async close() {},
  };
  const scheduler = tracedScheduler(inner, provider.getTracer('test'), (p) => `jobs-${p}`);
  return { exporter, held, scheduler };
}

const message: OutboundMessage = {
  jobId: 'pjob_1',
  priority: 'low',
  data: Buffer.from('{}'),
  attributes: { job_id: 'pjob_1' },
};
const runAt = new Date('2030-01-01T00:00:00Z');

describe('tracedScheduler', () => {
  it('records a producer span and stores the message with its trace context', async () => {
    const { exporter, held, scheduler } = setup();
    await scheduler.schedule(message, runAt);
    const [span] = exporter.getFinishedSpans();
    expect(span?.kind).toBe(SpanKind.PRODUCER);
    expect(span?.name).toBe('schedule jobs-low');
    expect(span?.attributes).toMatchObject({
      'messaging.system': 'gcp_pubsub',
      'messaging.destination.name': 'jobs-low',
      'messaging.operation.type': 'create',
      'jack.run_at': '2030-01-01T00:00:00.000Z',
      'jack.job_id': 'pjob_1',
    });
    const traceparent = `00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`;
    expect(held[0]?.attributes).toEqual({
      job_id: 'pjob_1',
      traceparent,
      googclient_traceparent: traceparent,
    });
    // The caller's message is not changed.
    expect(message.attributes).toEqual({ job_id: 'pjob_1' });
  });

  it('marks the span failed and rethrows the scheduler error', async () => {
    const error = new JackError('unavailable', 'cloud tasks down');
    const { exporter, scheduler } = setup(error);
    await expect(scheduler.schedule(message, runAt)).rejects.toBe(error);
    expect(exporter.getFinishedSpans()[0]?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'cloud tasks down',
    });
  });
});
