import { type Context, trace } from '@opentelemetry/api';

/**
 * `trace_id` and `span_id` for the log lines of a call, from `ctx.trace`
 * (set by the tracing interceptor); undefined when tracing is off.
 */
export function traceLogFields(
  callTrace: unknown,
): { trace_id: string; span_id: string } | undefined {
  if (callTrace === undefined) return undefined;
  const span = trace.getSpan(callTrace as Context);
  if (span === undefined) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
