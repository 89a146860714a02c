/** The telemetry section: DogStatsD (SPEC §12) and OpenTelemetry export (SPEC §11). */
import type { Parser } from './parser.js';

export interface DatadogConfig {
  host: string;
  port: number;
  /** `key:value` tags on every metric, in the order the Go service sent them. */
  globalTags: readonly string[];
}

export interface TracingConfig {
  /**
   * Where spans are POSTed (OTLP/HTTP): OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
   * OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`, as the OTLP spec says.
   */
  tracesUrl: string;
  /** OTEL_SERVICE_NAME, default `jack`. */
  serviceName: string;
}

/** DogStatsD's default port, as datadog-go uses when the address has none. */
const DOGSTATSD_DEFAULT_PORT = 8125;

/**
 * DATADOG_STATSD_ADDR (`host:port`, `[v6]:port` or `host`) and the global
 * tags the Go service sent: its own `service:jack-service` and
 * `env:$ENV` (default `development`), then what datadog-go adds from
 * DD_ENTITY_ID, DD_ENV, DD_SERVICE and DD_VERSION when they are set.
 */
export function parseDatadog(p: Parser): DatadogConfig | undefined {
  const address = p.string('DATADOG_STATSD_ADDR');
  if (address === undefined) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:/[\]]+))(?::(\d{1,5}))?$/.exec(address);
  const port = m?.[3] === undefined ? DOGSTATSD_DEFAULT_PORT : Number(m[3]);
  if (m === null || port < 1 || port > 65535) {
    p.problem(
      `DATADOG_STATSD_ADDR=${JSON.stringify(address)} is not host:port (DogStatsD goes over UDP, e.g. localhost:8125)`,
    );
    return undefined;
  }
  const globalTags = ['service:jack-service', `env:${p.string('ENV') ?? 'development'}`];
  for (const [name, tag] of [
    ['DD_ENTITY_ID', 'dd.internal.entity_id'],
    ['DD_ENV', 'env'],
    ['DD_SERVICE', 'service'],
    ['DD_VERSION', 'version'],
  ] as const) {
    const value = p.string(name);
    if (value !== undefined) globalTags.push(`${tag}:${value}`);
  }
  return { host: (m[1] ?? m[2]) as string, port, globalTags };
}

/** OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set and OTEL_SDK_DISABLED is not true. */
export function parseTracing(p: Parser): TracingConfig | undefined {
  const endpoint = p.url('OTEL_EXPORTER_OTLP_ENDPOINT');
  const disabled = p.bool('OTEL_SDK_DISABLED') ?? false;
  if (endpoint === undefined || disabled) return undefined;
  const tracesUrl =
    p.url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  return { tracesUrl, serviceName: p.string('OTEL_SERVICE_NAME') ?? 'jack' };
}
