/**
 * SPEC §11 end to end: Enqueue with a W3C traceparent → Jack → Pub/Sub
 * emulator → a subscriber using the official client with its OpenTelemetry
 * support on. The client's receive span must continue Jack's producer span,
 * from the message attributes alone.
 */
import { type Message, PubSub } from '@google-cloud/pubsub';
import { SpanKind, type trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import { call, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { emulatorClientOptions } from '../support/pubsub-emulator.js';
import { createPubSubFixture, type PubSubFixture } from '../support/pubsub-topics.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const TRACEPARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;

describe.skipIf(skipWithoutEmulator())('trace context through Pub/Sub', () => {
  // Jack registers its provider globally, so the Pub/Sub client's spans land here too.
  const exporter = new InMemorySpanExporter();
  let pubsub: PubSubFixture;
  let jack: RunningJack;

  beforeAll(async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities: ['medium'] });
    jack = await startJack(
      { ...pubsub.env(['medium']), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' },
      { spanExporter: exporter },
    );
  });
  afterAll(async () => {
    await jack?.close();
    await pubsub?.close();
  });

  it('the official client continues the producer span of the published job', async () => {
    const res = await call(
      jack.jobs,
      'enqueue',
      enqueueRequest({ producerId: 'prod_t', jobType: 'send_email', payload: Buffer.from('{}') }),
      { traceparent: TRACEPARENT },
    );
    const producer = exporter
      .getFinishedSpans()
      .find((s) => s.kind === SpanKind.PRODUCER && s.attributes['jack.job_id'] === res.jobId);
    expect(producer?.spanContext().traceId).toBe(TRACE_ID);
    expect(producer?.attributes['messaging.destination.name']).toBe(pubsub.topics.medium);

    // A consumer as the teams write it: the official client, OpenTelemetry on.
    // Created only after the publish: the client's switch is process-wide.
    const consumer = new PubSub({
      ...emulatorClientOptions(pubsub.project, pubsub.host),
      enableOpenTelemetryTracing: true,
    });
    const subscription = consumer.subscription(`sub-medium`);
    try {
      const received = await new Promise<Message>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message in 10 s')), 10_000);
        subscription.on('error', reject);
        subscription.on('message', (message: Message) => {
          if (message.attributes.job_id !== res.jobId) return;
          clearTimeout(timer);
          message.ack();
          resolve(message);
        });
      });
      expect(received.attributes.googclient_traceparent).toBe(
        `00-${TRACE_ID}-${producer?.spanContext().spanId}-01`,
      );
      // The client's own receive span: same trace, child of Jack's producer span.
      const receiveSpan = (
        received as unknown as { parentSpan?: ReturnType<typeof trace.getActiveSpan> }
      ).parentSpan;
      expect(receiveSpan?.spanContext().traceId).toBe(TRACE_ID);
      await subscription.close();
      const consumerSpan = exporter
        .getFinishedSpans()
        .find(
          (s) =>
            s.kind === SpanKind.CONSUMER &&
            s.spanContext().spanId === receiveSpan?.spanContext().spanId,
        );
      expect(consumerSpan?.instrumentationScope.name).toBe('@google-cloud/pubsub');
      expect(consumerSpan?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
      expect(consumerSpan?.spanContext().traceId).toBe(TRACE_ID);
    } finally {
      await subscription.close().catch(() => {});
      await consumer.close();
    }
  });
});
