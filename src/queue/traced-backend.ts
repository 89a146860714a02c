/**
 * A producer span per publish (SPEC §11, OpenTelemetry messaging
 * conventions), child of the call's span, and the span's context in the
 * message attributes so a consumer continues the trace. Wraps any Backend;
 * installed only when tracing is on.
 */
import { context, type Span, SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import { withTraceContext } from '../tracing/tracing.js';
import type { Backend, OutboundMessage, Priority } from './backend.js';

/** `messaging.system` of Google Cloud Pub/Sub. */
const GCP_PUBSUB = 'gcp_pubsub';

/** Starts the producer span of one message and returns it with the message that carries it. */
export function startProducerSpan(
  tracer: Tracer,
  message: OutboundMessage,
  destination: string,
  operation: { name: string; type: 'send' | 'create' },
  extra: Record<string, string> = {},
): { span: Span; carried: OutboundMessage } {
  const span = tracer.startSpan(
    `${operation.name} ${destination}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': GCP_PUBSUB,
        'messaging.destination.name': destination,
        'messaging.operation.name': operation.name,
        'messaging.operation.type': operation.type,
        'messaging.message.body.size': message.data.length,
        'jack.priority': message.priority,
        'jack.job_id': message.jobId,
        ...extra,
      },
    },
    context.active(),
  );
  const carried = { ...message, attributes: withTraceContext(message.attributes, span) };
  return { span, carried };
}

/** Ends a producer span with the outcome of its message. */
export function endProducerSpan(
  span: Span,
  result: PromiseSettledResult<string | undefined>,
): void {
  if (result.status === 'fulfilled') {
    if (result.value !== undefined) span.setAttribute('messaging.message.id', result.value);
  } else {
    const reason = result.reason as { message?: unknown };
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: typeof reason?.message === 'string' ? reason.message : 'publish failed',
    });
  }
  span.end();
}

/**
 * @param destination the topic a priority's messages go to (the span's
 *   `messaging.destination.name`).
 */
export function tracedBackend(
  inner: Backend,
  tracer: Tracer,
  destination: (priority: Priority) => string,
): Backend {
  const send = { name: 'send', type: 'send' } as const;
  return {
    kind: inner.kind,
    async publish(message) {
      const { span, carried } = startProducerSpan(
        tracer,
        message,
        destination(message.priority),
        send,
      );
      try {
        const id = await inner.publish(carried);
        endProducerSpan(span, { status: 'fulfilled', value: id });
        return id;
      } catch (err) {
        endProducerSpan(span, { status: 'rejected', reason: err });
        throw err;
      }
    },
    async publishMany(messages) {
      const started = messages.map((m) =>
        startProducerSpan(tracer, m, destination(m.priority), send),
      );
      const results = await inner.publishMany(started.map((s) => s.carried));
      results.forEach((result, i) => {
        endProducerSpan((started[i] as { span: Span }).span, result);
      });
      return results;
    },
    check: () => inner.check(),
    close: () => inner.close(),
  };
}
