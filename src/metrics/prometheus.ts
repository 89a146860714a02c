/**
 * Prometheus metrics on `GET /metrics`. Each exporter owns a private
 * Registry, so several apps in one process (tests) never share or clash on
 * metric names. The metric set itself is in ./prometheus-metrics.ts.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { JackError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { createPrometheusMetrics } from './prometheus-metrics.js';

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
/**
 * Starts the HTTP server for `/metrics` (404 on any other path, 405 on
 * anything but GET/HEAD) with the Jack metrics and the default Node
 * process metrics (CPU, memory, event loop lag, GC).
 */
export async function startPrometheusExporter(
  options: PrometheusOptions,
): Promise<PrometheusExporter> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createPrometheusMetrics(registry);

  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    registry.metrics().then(
      (text) => {
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        options.logger.error({ err }, 'metrics scrape failed');
        response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics scrape failed\n');
      },
    );
  });
  // A scraper keeps connections alive; they must not hold shutdown up.
  server.keepAliveTimeout = 5_000;

  const address = options.host.includes(':') ? `[${options.host}]` : options.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new JackError(
          'failed_precondition',
          `METRICS_PORT=${options.port}: cannot listen on ${address}:${options.port}: ${err.code ?? err.message}`,
          { cause: err },
        ),
      ),
    );
    server.listen(options.port, options.host, () => {
      const bound = server.address();
      resolve(typeof bound === 'object' && bound !== null ? bound.port : options.port);
    });
  });
  options.logger.info({ port }, 'metrics on /metrics');

  let closing: Promise<void> | undefined;
  return {
    metrics,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        registry.clear();
      });
      return closing;
    },
  };
}
