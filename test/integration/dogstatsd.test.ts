/**
 * DATADOG_STATSD_ADDR: the running service sends the Go service's DogStatsD
 * lines for real calls, beside Prometheus (SPEC §12).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { type StatsdListener, startStatsdListener } from '../support/statsd-listener.js';

describe('DogStatsD beside Prometheus', () => {
  let listener: StatsdListener;
  let jack: RunningJack;

  beforeAll(async () => {
    listener = await startStatsdListener();
    jack = await startJack({
      DATADOG_STATSD_ADDR: `127.0.0.1:${listener.port}`,
      ENV: 'staging',
      METRICS_PORT: '0',
      LEGACY_PAYLOAD_QUEUE_ROUTING: '1',
    });
  });
  afterAll(async () => {
    await jack?.close();
    await listener?.close();
  });

  const tags = '#service:jack-service,env:staging';
  /** A line with its value (durations vary) replaced by `*`. */
  const shape = (line: string) => line.replace(/:[0-9.e-]+\|d\|/, ':*|d|');

  it('emits the Go metric lines for Enqueue and EnqueueBulk; Prometheus still counts', async () => {
    const job = { producerId: 'prod_dd', jobType: 'send_email' };
    await call(jack.jobs, 'enqueue', enqueueRequest({ ...job, payload: Buffer.from('{"a":1}') }));
    await call(
      jack.jobs,
      'enqueue',
      enqueueRequest({ ...job, payload: Buffer.from('{"Queue":"high"}') }),
    );
    await call(jack.jobs, 'enqueueBulk', {
      jobs: [enqueueRequest(job), enqueueRequest({ ...job, jobType: '' })],
    });
    const scrape = await fetch(`http://127.0.0.1:${jack.app.metricsPort}/metrics`);
    expect(await scrape.text()).toMatch(
      /jack_jobs_total\{priority="high",outcome="published"\} 1\n/,
    );
    await jack.close(); // flushes the client's buffer
    const lines = await listener.waitFor((l) =>
      l.some((line) => line.startsWith('jack.enqueue_bulk.duration')),
    );
    const p = 'job_type:send_email,producer_id:prod_dd';
    expect(lines.map(shape)).toEqual([
      `jack.publish.count:1|c|${tags},priority:medium,status:success`,
      `jack.publish.duration:*|d|${tags},priority:medium`,
      `jack.enqueue.count:1|c|${tags},${p},priority:medium,status:success,method:immediate`,
      `jack.enqueue.duration:*|d|${tags},${p},priority:medium`,
      `jack.enqueue.payload_bytes:*|d|${tags},${p}`,
      `jack.enqueue.legacy_payload_queue_routing.count:1|c|${tags},producer_id:prod_dd,job_type:send_email,priority:high`,
      `jack.publish.count:1|c|${tags},priority:high,status:success`,
      `jack.publish.duration:*|d|${tags},priority:high`,
      `jack.enqueue.count:1|c|${tags},${p},priority:high,status:success,method:immediate`,
      `jack.enqueue.duration:*|d|${tags},${p},priority:high`,
      `jack.enqueue.payload_bytes:*|d|${tags},${p}`,
      `jack.enqueue_bulk.jobs:*|d|${tags}`,
      `jack.publish.count:1|c|${tags},priority:medium,status:success`,
      `jack.enqueue_bulk.count:1|c|${tags},status:success,method:immediate`,
      `jack.enqueue_bulk.duration:*|d|${tags}`,
    ]);
    expect(lines).toContain(`jack.enqueue.payload_bytes:7|d|${tags},${p}`);
    expect(lines).toContain(`jack.enqueue_bulk.jobs:2|d|${tags}`);
  });
});
