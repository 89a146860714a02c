/**
 * DogStatsD metrics exactly as the Go service (clerk/jack-service) emits them
 * (SPEC §12), so its dashboards and monitors keep working after the switch:
 * same names, types (count `c`, distribution `d`), tags in the same order,
 * and the same global tags. Loaded only when DATADOG_STATSD_ADDR is set.
 *
 * UDP through hot-shots: a send never blocks a call (datagrams are buffered
 * and flushed by a timer) and never fails one (every error goes to a
 * rate-limited log line instead).
 */

import { StatsD } from 'hot-shots';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';

export interface DogStatsdOptions {
  host: string;
  port: number;
  /** Tags on every metric, `key:value`, in order (see `Config.datadog`). */
  globalTags: readonly string[];
  logger: Logger;
  /** How long datagrams wait to be packed together, ms (datadog-go's default: 100). */
  flushIntervalMs?: number;
}

export interface DogStatsdExporter {
  metrics: Metrics;
  /** Sends what is buffered, then closes the socket. Safe to call twice. */
  close(): Promise<void>;
}

/** One UDP datagram's worth, as datadog-go packs them (its default for UDP). */
const MAX_DATAGRAM_BYTES = 1432;
/** At most one log line per this many ms about send errors. */
const ERROR_LOG_INTERVAL_MS = 60_000;

type Tags = string[];

export function startDogStatsd(options: DogStatsdOptions): DogStatsdExporter {
  const errors = rateLimitedErrorLog(options.logger);
  const client = new StatsD({
    protocol: 'udp',
    host: options.host,
    port: options.port,
    globalTags: [...options.globalTags],
    // Jack's config is the only reader of the environment: hot-shots must not
    // add DD_* tags or switch modes on its own.
    includeDataDogTags: false,
    datadog: false,
    includeDatadogTelemetry: false,
    cacheDns: true,
    maxBufferSize: MAX_DATAGRAM_BYTES,
    bufferFlushInterval: options.flushIntervalMs ?? 100,
    errorHandler: errors,
  });

  /** Never lets a metrics problem reach the call that reported it. */
  const safely = (send: () => void) => {
    try {
      send();
    } catch (err) {
      errors(err as Error);
    }
  };
  const count = (name: string, tags: Tags) => safely(() => client.increment(name, 1, 1, tags));
  const distribution = (name: string, value: number, tags?: Tags) =>
    safely(() => client.distribution(name, value, 1, tags));

  const metrics: Metrics = {
    // Go: jack.enqueue_bulk.duration, for every EnqueueBulk it answered.
    callFinished(method, code, seconds) {
      if (method === 'EnqueueBulk' && code === 'OK') {
        distribution('jack.enqueue_bulk.duration', seconds);
      }
    },
    jobFinished() {},
    // Go (pubsub backend): a count per message, the time only for a single publish.
    publishFinished(priority, ok, seconds, inBulk) {
      count('jack.publish.count', [`priority:${priority}`, ok ? 'status:success' : 'status:error']);
      if (ok && inBulk !== true) {
        distribution('jack.publish.duration', seconds, [`priority:${priority}`]);
      }
    },
    jobDispatched(call, job, ok, seconds) {
      const method = job.scheduled ? 'method:scheduled' : 'method:immediate';
      const status = ok ? 'status:success' : 'status:error';
      if (call === 'EnqueueBulk') {
        count('jack.enqueue_bulk.count', [status, method]);
        return;
      }
      const jobType = `job_type:${job.jobType}`;
      const producer = `producer_id:${job.producerId}`;
      const priority = `priority:${job.priority}`;
      count('jack.enqueue.count', [jobType, producer, priority, status, method]);
      if (ok) {
        distribution('jack.enqueue.duration', seconds, [jobType, producer, priority]);
        distribution('jack.enqueue.payload_bytes', job.payloadBytes, [jobType, producer]);
      }
    },
    legacyRouted(job) {
      count('jack.enqueue.legacy_payload_queue_routing.count', [
        `producer_id:${job.producerId}`,
        `job_type:${job.jobType}`,
        `priority:${job.priority}`,
      ]);
    },
    scheduleFinished(ok, seconds, failure) {
      if (ok) {
        count('jack.schedule.count', ['status:success']);
        distribution('jack.schedule.duration', seconds);
      } else {
        count('jack.schedule.count', ['status:error', `reason:${failure ?? 'create'}`]);
      }
    },
    bulkSize(jobs) {
      distribution('jack.enqueue_bulk.jobs', jobs);
    },
    // Jack's own events, which the Go service had no metric for.
    storeRefreshed() {},
    duplicatePublished() {},
    healthChanged() {},
    jobsAdmitted() {},
    jobsRejected() {},
    rateLimiterFallback() {},
    // The Go service had no idempotency keys: Prometheus alone reports them.
    idempotencyAnswered() {},
    // Nor a job ledger: Prometheus alone reports it.
    jobTransition() {},
    jobPickedUp() {},
    ledgerWriteFailed() {},
    ledgerBufferDepth() {},
    ledgerRecordsDropped() {},
    scheduledWaiting() {},
    scheduledPublished() {},
    // A connection-level event of Jack's own: Prometheus reports it.
    connectionRefused() {},
  };

  let closing: Promise<void> | undefined;
  return {
    metrics,
    close() {
      closing ??= new Promise<void>((resolve) => {
        try {
          client.close(() => resolve());
        } catch (err) {
          errors(err as Error);
          resolve();
        }
      });
      return closing;
    },
  };
}

/** An error handler that logs the first error, then at most one line a minute with a count. */
function rateLimitedErrorLog(logger: Logger): (err: Error) => void {
  let lastLogged = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (err) => {
    const now = Date.now();
    if (now - lastLogged < ERROR_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    lastLogged = now;
    logger.warn(
      { err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, suppressed },
      'dogstatsd: sending metrics failed (calls are not affected)',
    );
    suppressed = 0;
  };
}
