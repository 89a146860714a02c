import { describe, expect, it } from 'vitest';
import { loadConfig } from './index.js';

describe('DogStatsD and tracing settings', () => {
  it('is off without DATADOG_STATSD_ADDR and OTEL_EXPORTER_OTLP_ENDPOINT', () => {
    const config = loadConfig({ ENV: 'prod', DD_SERVICE: 'x', OTEL_SERVICE_NAME: 'y' });
    expect(config.datadog).toBeUndefined();
    expect(config.tracing).toBeUndefined();
  });

  it.each([
    ['localhost:8125', 'localhost', 8125],
    ['10.0.0.7:9125', '10.0.0.7', 9125],
    ['[::1]:8125', '::1', 8125],
    ['datadog-agent', 'datadog-agent', 8125],
  ])('reads DATADOG_STATSD_ADDR=%s as host %s, port %i', (address, host, port) => {
    expect(loadConfig({ DATADOG_STATSD_ADDR: address }).datadog).toMatchObject({ host, port });
  });

  it.each(['unix:///var/run/datadog/dsd.socket', 'host:0', 'host:70000', 'a b:1', ':8125'])(
    'refuses DATADOG_STATSD_ADDR=%s naming the variable',
    (address) => {
      expect(() => loadConfig({ DATADOG_STATSD_ADDR: address })).toThrow(
        `DATADOG_STATSD_ADDR=${JSON.stringify(address)} is not host:port (DogStatsD goes over UDP, e.g. localhost:8125)`,
      );
    },
  );

  it('sends the global tags the Go service sent: its own, then those datadog-go adds from DD_*', () => {
    expect(loadConfig({ DATADOG_STATSD_ADDR: 'localhost:8125' }).datadog?.globalTags).toEqual([
      'service:jack-service',
      'env:development',
    ]);
    const config = loadConfig({
      DATADOG_STATSD_ADDR: 'localhost:8125',
      ENV: 'production',
      DD_ENTITY_ID: 'pod-1',
      DD_ENV: 'prod',
      DD_SERVICE: 'jack',
      DD_VERSION: 'abc123',
    });
    expect(config.datadog?.globalTags).toEqual([
      'service:jack-service',
      'env:production',
      'dd.internal.entity_id:pod-1',
      'env:prod',
      'service:jack',
      'version:abc123',
    ]);
  });

  it('turns OTLP export on with OTEL_EXPORTER_OTLP_ENDPOINT, off again with OTEL_SDK_DISABLED', () => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'jack',
    });
    expect(
      loadConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example.com/otlp',
      }).tracing?.tracesUrl,
    ).toBe('https://traces.example.com/otlp');
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SERVICE_NAME: 'jack-eu' })
        .tracing?.serviceName,
    ).toBe('jack-eu');
    expect(
      loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' })
        .tracing,
    ).toBeUndefined();
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      'OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318" is not an http(s) URL',
    );
  });
});
