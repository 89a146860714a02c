import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { logSink } from '../../test/support/jack.js';
import { type StatsdListener, startStatsdListener } from '../../test/support/statsd-listener.js';
import { createLogger } from '../logger.js';
import { type DogStatsdExporter, startDogStatsd } from './dogstatsd.js';

const GLOBAL = '#service:jack-service,env:test';
const job = {
  producerId: 'prod_1',
  jobType: 'send_email',
  priority: 'high' as const,
  scheduled: false,
  payloadBytes: 42,
};

describe('DogStatsD metrics: the Go service lines, byte for byte', () => {
  let listener: StatsdListener;
  let exporter: DogStatsdExporter;

  beforeEach(async () => {
    listener = await startStatsdListener();
    exporter = startDogStatsd({
      host: '127.0.0.1',
      port: listener.port,
      globalTags: ['service:jack-service', 'env:test'],
      logger: createLogger({ level: 'silent' }),
      flushIntervalMs: 5,
    });
  });
  afterEach(async () => {
    await exporter.close();
    await listener.close();
  });

  /** Sends the events, flushes, and returns the lines received. */
  const linesOf = async (send: () => void, expected: number) => {
    send();
    await exporter.close();
    return listener.waitFor((lines) => lines.length >= expected);
  };

  it.each([
    {
      name: 'Enqueue published',
      send: (e: DogStatsdExporter) => e.metrics.jobDispatched('Enqueue', job, true, 0.25),
      lines: [
        `jack.enqueue.count:1|c|${GLOBAL},job_type:send_email,producer_id:prod_1,priority:high,status:success,method:immediate`,
        `jack.enqueue.duration:0.25|d|${GLOBAL},job_type:send_email,producer_id:prod_1,priority:high`,
        `jack.enqueue.payload_bytes:42|d|${GLOBAL},job_type:send_email,producer_id:prod_1`,
      ],
    },
    {
      name: 'Enqueue failed to schedule',
      send: (e: DogStatsdExporter) =>
        e.metrics.jobDispatched('Enqueue', { ...job, scheduled: true }, false, 0.1),
      lines: [
        `jack.enqueue.count:1|c|${GLOBAL},job_type:send_email,producer_id:prod_1,priority:high,status:error,method:scheduled`,
      ],
    },
    {
      name: 'EnqueueBulk jobs',
      send: (e: DogStatsdExporter) => {
        e.metrics.bulkSize(3);
        e.metrics.jobDispatched('EnqueueBulk', job, true, 0.5);
        e.metrics.jobDispatched('EnqueueBulk', { ...job, scheduled: true }, false, 0);
        e.metrics.callFinished('EnqueueBulk', 'OK', 0.75);
      },
      lines: [
        `jack.enqueue_bulk.jobs:3|d|${GLOBAL}`,
        `jack.enqueue_bulk.count:1|c|${GLOBAL},status:success,method:immediate`,
        `jack.enqueue_bulk.count:1|c|${GLOBAL},status:error,method:scheduled`,
        `jack.enqueue_bulk.duration:0.75|d|${GLOBAL}`,
      ],
    },
    {
      name: 'publishes, single and in a bulk call',
      send: (e: DogStatsdExporter) => {
        e.metrics.publishFinished('low', true, 0.002);
        e.metrics.publishFinished('low', false, 0.002);
        e.metrics.publishFinished('immediate', true, 0.01, true);
      },
      lines: [
        `jack.publish.count:1|c|${GLOBAL},priority:low,status:success`,
        `jack.publish.duration:0.002|d|${GLOBAL},priority:low`,
        `jack.publish.count:1|c|${GLOBAL},priority:low,status:error`,
        `jack.publish.count:1|c|${GLOBAL},priority:immediate,status:success`,
      ],
    },
    {
      name: 'schedules',
      send: (e: DogStatsdExporter) => {
        e.metrics.scheduleFinished(true, 0.03);
        e.metrics.scheduleFinished(false, 0, 'too_large');
        e.metrics.scheduleFinished(false, 0, 'create');
      },
      lines: [
        `jack.schedule.count:1|c|${GLOBAL},status:success`,
        `jack.schedule.duration:0.03|d|${GLOBAL}`,
        `jack.schedule.count:1|c|${GLOBAL},status:error,reason:too_large`,
        `jack.schedule.count:1|c|${GLOBAL},status:error,reason:create`,
      ],
    },
    {
      name: 'legacy payload routing',
      send: (e: DogStatsdExporter) =>
        e.metrics.legacyRouted({ producerId: 'prod_1', jobType: 'x', priority: 'low' }),
      lines: [
        `jack.enqueue.legacy_payload_queue_routing.count:1|c|${GLOBAL},producer_id:prod_1,job_type:x,priority:low`,
      ],
    },
  ])('$name', async ({ send, lines }) => {
    expect(await linesOf(() => send(exporter), lines.length)).toEqual(lines);
  });

  it('sends nothing for the events the Go service had no metric for', async () => {
    exporter.metrics.callFinished('Enqueue', 'OK', 0.1);
    exporter.metrics.callFinished('EnqueueBulk', 'INVALID_ARGUMENT', 0.1);
    exporter.metrics.jobFinished('high', 'published');
    exporter.metrics.storeRefreshed(true);
    exporter.metrics.healthChanged('', true);
    exporter.metrics.bulkSize(1); // a marker that the datagram went out
    const lines = await linesOf(() => {}, 1);
    expect(lines).toEqual([`jack.enqueue_bulk.jobs:1|d|${GLOBAL}`]);
  });
});

describe('DogStatsD when the agent cannot be reached', () => {
  it('never throws into the call and logs the failure once, rate limited', async () => {
    const sink = logSink();
    const exporter = startDogStatsd({
      host: 'no-such-host.invalid',
      port: 8125,
      globalTags: [],
      logger: createLogger({ level: 'info' }, sink.stream),
      flushIntervalMs: 1,
    });
    for (let i = 0; i < 50; i++) {
      expect(() => exporter.metrics.jobDispatched('Enqueue', job, true, 0.1)).not.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await exporter.close();
    const deadline = Date.now() + 5_000;
    while (sink.lines.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const warnings = sink.lines.filter((l) => l.msg.startsWith('dogstatsd:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.level).toBe('warn');
  });
});
