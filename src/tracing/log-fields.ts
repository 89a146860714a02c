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

/**
 * pino `mixin`: the ids of the span active where a line is logged, so lines
 * that code logs while handling a call carry the call's trace. Without an
 * active span (tracing off, or outside a call) it adds nothing.
 */
export function activeTraceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  // A new object each time: pino merges the line's fields into it.
  if (span === undefined) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
