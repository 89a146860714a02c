/**
 * Prometheus metrics on `GET /metrics`. Each exporter owns a private
 * Registry, so several apps in one process (tests) never share or clash on
 * metric names. Every label value comes from a fixed set (method names,
 * status names, priorities, outcomes, service names): no job, producer or
 * job type ids, so cardinality stays bounded whatever the callers send.
 */
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from 'prom-client';
import { JackError } from '../errors.js';
import type { IdempotencyOutcome, JobOutcome, Metrics } from '../metrics.js';
import { PRIORITIES, type Priority } from '../queue/backend.js';

/**
 * Producer label values kept per exporter: callers pass registered producer
 * ids only (unregistered ones share one label), and past this many distinct
 * ids the rest are counted as '(other)', so a huge registry cannot blow up
 * the series count either.
 */
const MAX_PRODUCER_LABELS = 500;

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

/** Seconds; enqueue answers are sub-millisecond on noop, tens of ms through Pub/Sub. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const BULK_SIZE_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];

const IDEMPOTENCY_OUTCOMES: readonly IdempotencyOutcome[] = [
  'claimed',
  'retried',
  'duplicate',
  'conflict',
  'in_progress',
  'store_error',
];

type Labels = Record<string, string>;

/** What prom-client's Registry reads from a metric when it renders the text format. */
interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
}

/**
 * Series keyed by up to two label values, created on first use. prom-client's
 * own `inc`/`observe` validate and hash the labels on every call (it showed
 * in the enqueue profile, several times per job in EnqueueBulk); these
 * metrics only bump numbers on the hot path and do the formatting work when
 * Prometheus scrapes.
 */
abstract class HotMetric<S extends { labels: Labels }> {
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Map<string, S>>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {}

  protected abstract create(labels: Labels): S;

  /** The series of these label values, in the order of `labelNames`. */
  child(first = '', second = ''): S {
    let inner = this.series.get(first);
    if (inner === undefined) {
      inner = new Map();
      this.series.set(first, inner);
    }
    let series = inner.get(second);
    if (series === undefined) {
      const labels: Labels = {};
      const values = [first, second];
      this.labelNames.forEach((labelName, i) => {
        labels[labelName] = values[i] ?? '';
      });
      series = this.create(labels);
      inner.set(second, series);
    }
    return series;
  }

  protected all(): S[] {
    return [...this.series.values()].flatMap((inner) => [...inner.values()]);
  }
}

class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(by = 1): void {
    this.value += by;
  }
}

class HotCounter extends HotMetric<CounterSeries> {
  readonly type = 'counter';
  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }
  get(): MetricSnapshot {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.all().map((s) => ({ labels: s.labels, value: s.value })),
    };
  }
}

class HistogramSeries {
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > (this.bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
  }
}

class HotHistogram extends HotMetric<HistogramSeries> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }
  get(): MetricSnapshot {
    const values: MetricSnapshot['values'] = [];
    for (const series of this.all()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += series.counts[i] as number;
        values.push({
          labels: { ...series.labels, le: bound },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push({
        labels: { ...series.labels, le: '+Inf' },
        value: series.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }
}

/** Builds the metric set on `registry` and the `Metrics` that feeds it. */
export function createPrometheusMetrics(registry: Registry): Metrics {
  const hot = <M extends HotMetric<{ labels: Labels }>>(metric: M): M => {
    registry.registerMetric(metric as unknown as Metric);
    return metric;
  };
  const calls = hot(
    new HotCounter('jack_grpc_calls_total', 'Finished gRPC calls by method and status code.', [
      'method',
      'code',
    ]),
  );
  const callSeconds = hot(
    new HotHistogram(
      'jack_enqueue_duration_seconds',
      'Time to answer Enqueue and EnqueueBulk calls, by method and status code.',
      ['method', 'code'],
      LATENCY_BUCKETS,
    ),
  );
  const jobs = hot(
    new HotCounter(
      'jack_jobs_total',
      "Jobs by priority and outcome (published, scheduled, refused, failed); priority is 'none' for jobs refused before routing.",
      ['priority', 'outcome'],
    ),
  );
  const publishSeconds = hot(
    new HotHistogram(
      'jack_publish_duration_seconds',
      'Time the queue backend took to accept one message, by priority and result.',
      ['priority', 'result'],
      LATENCY_BUCKETS,
    ),
  );
  const bulkSizes = hot(
    new HotHistogram('jack_bulk_size_jobs', 'Jobs per EnqueueBulk call.', [], BULK_SIZE_BUCKETS),
  );
  const idempotency = hot(
    new HotCounter(
      'jack_idempotency_total',
      'Jobs with an idempotency key by outcome (claimed, retried, duplicate, conflict, in_progress), and failed idempotency store operations (store_error).',
      ['outcome'],
    ),
  );
  // Cold paths: plain prom-client.
  const storeRefreshes = new Counter({
    name: 'jack_store_refreshes_total',
    help: 'Config store refreshes, by result (ok, failed).',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const health = new Gauge({
    name: 'jack_health_serving',
    help: "1 when the service is SERVING, 0 otherwise; service '' is the whole server.",
    labelNames: ['service'] as const,
    registers: [registry],
  });
  const admitted = hot(
    new HotCounter(
      'jack_admission_admitted_jobs_total',
      "Jobs let through admission control (SPEC §8), by producer ('(unregistered)' for unregistered producers).",
      ['producer'],
    ),
  );
  const rejected = hot(
    new HotCounter(
      'jack_admission_rejected_jobs_total',
      'Jobs refused by admission control, by producer and reason (unregistered, rate_limited).',
      ['producer', 'reason'],
    ),
  );
  const fallback = new Gauge({
    name: 'jack_rate_limiter_fallback',
    help: '1 while the shared (Redis) rate limiter is unreachable and each replica limits on its own.',
    registers: [registry],
  });
  const producerLabels = new Set<string>();
  const producerLabel = (producer: string): string => {
    if (producerLabels.has(producer)) return producer;
    if (producerLabels.size >= MAX_PRODUCER_LABELS) return '(other)';
    producerLabels.add(producer);
    return producer;
  };
  // Series that exist from the start, so dashboards see zeros, not gaps.
  for (const method of ['Enqueue', 'EnqueueBulk']) {
    calls.child(method, 'OK');
    callSeconds.child(method, 'OK');
  }
  for (const priority of PRIORITIES) {
    for (const outcome of ['published', 'scheduled', 'failed']) jobs.child(priority, outcome);
    publishSeconds.child(priority, 'ok');
  }
  jobs.child('none', 'refused');
  for (const outcome of IDEMPOTENCY_OUTCOMES) idempotency.child(outcome);
  bulkSizes.child();
  storeRefreshes.labels('ok');
  storeRefreshes.labels('failed');

  return {
    callFinished(method, code, seconds) {
      calls.child(method, code).inc();
      if (method === 'Enqueue' || method === 'EnqueueBulk') {
        callSeconds.child(method, code).observe(seconds);
      }
    },
    jobFinished(priority: Priority | undefined, outcome: JobOutcome) {
      jobs.child(priority ?? 'none', outcome).inc();
    },
    publishFinished(priority, ok, seconds) {
      publishSeconds.child(priority, ok ? 'ok' : 'failed').observe(seconds);
    },
    // Already counted by jobFinished and publishFinished; the per-producer
    // and per-job-type detail stays out of Prometheus to bound cardinality.
    jobDispatched() {},
    legacyRouted() {},
    scheduleFinished() {},
    bulkSize(count) {
      bulkSizes.child().observe(count);
    },
    storeRefreshed(ok) {
      storeRefreshes.labels(ok ? 'ok' : 'failed').inc();
    },
    healthChanged(service, serving) {
      health.labels(service).set(serving ? 1 : 0);
    },
    jobsAdmitted(producer, count) {
      admitted.child(producerLabel(producer)).inc(count);
    },
    jobsRejected(producer, reason, count) {
      rejected.child(producerLabel(producer), reason).inc(count);
    },
    rateLimiterFallback(active) {
      fallback.set(active ? 1 : 0);
    },
    idempotencyAnswered(outcome) {
      idempotency.child(outcome).inc();
    },
  };
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
