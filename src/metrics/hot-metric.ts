/**
 * Counters and histograms for the hot path, read by prom-client's Registry
 * through the same `get()` shape its own metrics have.
 */
import type { Metric, Registry } from 'prom-client';

export type Labels = Record<string, string>;

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
export abstract class HotMetric<S extends { labels: Labels }> {
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

export class HotCounter extends HotMetric<CounterSeries> {
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

export class HotHistogram extends HotMetric<HistogramSeries> {
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

/** Registers a hot metric on `registry` (prom-client accepts any object with its `get()`). */
export function registerHot<M extends HotMetric<{ labels: Labels }>>(
  registry: Registry,
  metric: M,
): M {
  registry.registerMetric(metric as unknown as Metric);
  return metric;
}
