/**
 * Worker metrics (SPEC §15) on the worker's own Prometheus endpoint, only
 * when asked for (`metricsPort`): jobs by outcome and job type, run time,
 * duplicates skipped, reports dropped. A registry of its own, so a worker
 * embedded in another service never collides with that service's metrics.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Histogram, Registry } from 'prom-client';

export type Outcome = 'succeeded' | 'failed' | 'dead';

export interface WorkerMetrics {
  finished(outcome: Outcome, jobType: string, seconds: number): void;
  duplicate(jobType: string): void;
  reportDropped(): void;
  /** Serves GET /metrics on `port` (0: any free port); resolves with the bound port. */
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

export function createWorkerMetrics(): WorkerMetrics {
  const registry = new Registry();
  const jobs = new Counter({
    name: 'jack_worker_jobs_total',
    help: 'Jobs run to an outcome, by outcome and job type',
    labelNames: ['outcome', 'job_type'] as const,
    registers: [registry],
  });
  const runTime = new Histogram({
    name: 'jack_worker_job_duration_seconds',
    help: 'Run time of a job (one attempt), by job type',
    labelNames: ['job_type'] as const,
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'jack_worker_duplicates_skipped_total',
    help: 'Deliveries of a job already finished, acknowledged without running',
    labelNames: ['job_type'] as const,
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'jack_worker_reports_dropped_total',
    help: 'Status reports to Jack that could not be delivered in time and were dropped',
    registers: [registry],
  });
  let server: Server | undefined;
  return {
    finished(outcome, jobType, seconds) {
      jobs.inc({ outcome, job_type: jobType });
      runTime.observe({ job_type: jobType }, seconds);
    },
    duplicate: (jobType) => duplicates.inc({ job_type: jobType }),
    reportDropped: () => dropped.inc(),
    listen(port, host) {
      server = createServer((req, res) => {
        if (req.method !== 'GET' || req.url !== '/metrics') {
          res.writeHead(404).end();
          return;
        }
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
      });
      const listening = server;
      return new Promise((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => {
          const address = listening.address();
          resolve(typeof address === 'object' && address !== null ? address.port : port);
        });
      });
    },
    close() {
      const open = server;
      server = undefined;
      return open === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            open.close(() => resolve());
            open.closeAllConnections();
          });
    },
  };
}
