/**
 * OpenTelemetry tracing (SPEC §11). Off unless OTEL_EXPORTER_OTLP_ENDPOINT is
 * set: then no SDK module is even loaded, the interceptor and decorators are
 * not installed, and a call pays nothing. On, spans go to the OTLP/HTTP
 * receiver in batches; the SDK reads the other standard variables itself
 * (OTEL_EXPORTER_OTLP_HEADERS, OTEL_TRACES_SAMPLER, OTEL_BSP_*,
 * OTEL_RESOURCE_ATTRIBUTES, …).
 */
import {
  type Context,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  type TextMapGetter,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { TracingConfig } from '../config/index.js';

export interface Tracing {
  readonly tracer: Tracer;
  /** Exports the spans still buffered, then stops. Safe to call twice. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /**
   * Replaces the OTLP exporter, and spans are exported one by one as they end
   * (tests read them from an InMemorySpanExporter).
   */
  exporter?: SpanExporter;
}

/** Instrumentation scope of Jack's own spans. */
const SCOPE = 'jack';

/** Loads the SDK and starts exporting. Only called when tracing is on. */
export async function startTracing(
  config: TracingConfig,
  options: TracingOptions = {},
): Promise<Tracing> {
  const [{ NodeTracerProvider }, base, resources, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/exporter-trace-otlp-http'),
  ]);
  const spanProcessor =
    options.exporter === undefined
      ? new base.BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))
      : new base.SimpleSpanProcessor(options.exporter);
  const provider = new NodeTracerProvider({
    // SDK defaults, then OTEL_RESOURCE_ATTRIBUTES, then Jack's service name.
    resource: resources
      .defaultResource()
      .merge(resources.detectResources({ detectors: [resources.envDetector] }))
      .merge(resources.resourceFromAttributes({ 'service.name': config.serviceName })),
    spanProcessors: [spanProcessor],
  });
  // The global context manager (AsyncLocalStorage) carries the call's span to
  // the backend publish; the global provider lets libraries that trace
  // (e.g. the Pub/Sub client, when asked to) join the same traces. A second
  // app in one process (tests) keeps the first registration, which is fine:
  // Jack's own spans always go through `provider` directly.
  provider.register();
  let stopped: Promise<void> | undefined;
  return {
    tracer: provider.getTracer(SCOPE),
    shutdown() {
      stopped ??= provider.shutdown();
      return stopped;
    },
  };
}

const w3c = new W3CTraceContextPropagator();

/** Reads `traceparent` / `tracestate` from request metadata. */
export function extractContext<C>(carrier: C, getter: TextMapGetter<C>): Context {
  return w3c.extract(ROOT_CONTEXT, carrier, getter);
}

/** Prefix of the attributes the official Pub/Sub client libraries read (`googclient_traceparent`). */
export const PUBSUB_CLIENT_PREFIX = 'googclient_';

/**
 * The attributes that let a consumer continue the trace of `span`: W3C
 * `traceparent` (and `tracestate`), once plain and once under the name the
 * official Pub/Sub client libraries read when their OpenTelemetry support is
 * on. Returns a new attribute object; `attributes` is not changed.
 */
export function withTraceContext(
  attributes: Readonly<Record<string, string>>,
  span: Span,
): Record<string, string> {
  const carrier: Record<string, string> = {};
  w3c.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
  const out: Record<string, string> = { ...attributes };
  for (const [key, value] of Object.entries(carrier)) {
    out[key] = value;
    out[`${PUBSUB_CLIENT_PREFIX}${key}`] = value;
  }
  return out;
}
