/**
 * A server span per call (SPEC §11), continuing the caller's W3C trace
 * (`traceparent` / `tracestate` metadata). The call runs inside the span's
 * context, so what it publishes becomes a child span, and `ctx.trace` holds
 * that context for the log lines of the call. Not installed when tracing is
 * off: then there is no wrapper at all.
 */
import { status } from '@grpc/grpc-js';
import { context, SpanKind, SpanStatusCode, type TextMapGetter, trace } from '@opentelemetry/api';
import type { CallContext } from '../../context.js';
import { extractContext, type Tracing } from '../../tracing/tracing.js';
import type { Interceptor } from '../pipeline.js';
import { callStatus } from '../status.js';

const metadataGetter: TextMapGetter<CallContext> = {
  get: (ctx, key) => ctx.header(key),
  keys: () => ['traceparent', 'tracestate'],
};

/** gRPC codes that mark a server span as failed (OpenTelemetry's gRPC conventions). */
const SERVER_ERRORS: ReadonlySet<number> = new Set([
  status.UNKNOWN,
  status.DEADLINE_EXCEEDED,
  status.UNIMPLEMENTED,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
]);

export function tracingInterceptor(tracing: Tracing): Interceptor {
  const { tracer } = tracing;
  return (next, info) => {
    // Per method, once: the span name and the attributes every call shares.
    const name = `${info.service}/${info.method}`;
    const attributes = {
      'rpc.system': 'grpc',
      'rpc.service': info.service,
      'rpc.method': info.method,
    };
    return async (request, ctx) => {
      const parent = extractContext(ctx, metadataGetter);
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
      span.setAttribute('jack.request_id', ctx.requestId);
      const callContext = trace.setSpan(parent, span);
      ctx.trace = callContext;
      try {
        const response = await context.with(callContext, () => next(request, ctx));
        span.setAttribute('rpc.grpc.status_code', status.OK);
        return response;
      } catch (err) {
        const { code, details } = callStatus(ctx, err);
        span.setAttribute('rpc.grpc.status_code', code);
        if (SERVER_ERRORS.has(code))
          span.setStatus({ code: SpanStatusCode.ERROR, message: details });
        throw err;
      } finally {
        span.end();
      }
    };
  };
}
