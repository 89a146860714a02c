import type { Logger } from 'pino';
import { JackError } from '../errors.js';
import type { Metrics } from '../metrics.js';

export interface PrometheusOptions {
  host: string;
  port: number;
  logger: Logger;
}

export interface PrometheusExporter {
  metrics: Metrics;
  /** Bound port of the /metrics HTTP server. */
  port: number;
  close(): Promise<void>;
}

/** Prometheus metrics on /metrics. TODO(issue 6): being written. */
export async function startPrometheusExporter(
  _options: PrometheusOptions,
): Promise<PrometheusExporter> {
  throw new JackError('failed_precondition', 'METRICS_PORT is not implemented yet');
}
