/**
 * The metric sinks the config turns on (Prometheus, DogStatsD), fanned out
 * behind one `Metrics`. Each exporter is imported only when it is on.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { fanOutMetrics } from '../metrics/fan-out.js';
import type { Metrics } from '../metrics.js';
import type { Releaser } from './release.js';

/** Starts the configured sinks, pushing a releaser for each onto `releasers`. */
export async function openMetrics(
  config: Readonly<Config>,
  logger: Logger,
  releasers: Releaser[],
  /** Sinks of Jack's own that always listen (the console's overview). */
  extraSinks: readonly Metrics[] = [],
): Promise<{ metrics: Metrics; metricsPort: number | undefined }> {
  const sinks: Metrics[] = [...extraSinks];
  let metricsPort: number | undefined;
  if (config.metricsPort !== undefined) {
    const { startPrometheusExporter } = await import('../metrics/prometheus.js');
    const exporter = await startPrometheusExporter({
      host: config.grpcHost,
      port: config.metricsPort,
      logger,
    });
    releasers.push(() => exporter.close());
    sinks.push(exporter.metrics);
    metricsPort = exporter.port;
  }
  if (config.datadog !== undefined) {
    const { startDogStatsd } = await import('../metrics/dogstatsd.js');
    const dogstatsd = startDogStatsd({ ...config.datadog, logger });
    releasers.push(() => dogstatsd.close());
    sinks.push(dogstatsd.metrics);
    logger.info({ host: config.datadog.host, port: config.datadog.port }, 'dogstatsd metrics on');
  }
  return { metrics: fanOutMetrics(sinks), metricsPort };
}
