import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import { Queue } from '../gen/jack/storage.js';
import { type Metrics, noopMetrics } from '../metrics.js';
import { type AcceptedJob, JobState, type LedgerStore } from './ledger.js';
import { createMemoryLedgerStore } from './memory.js';
import { createLedgerRecorder, startRetention } from './recorder.js';

let counter = 0;
function job(overrides: Partial<AcceptedJob> = {}): AcceptedJob {
  counter += 1;
  return {
    jobId: `rec-${counter}`,
    producerId: 'p',
    jobType: 't',
    queue: Queue.QUEUE_MEDIUM,
    state: JobState.JOB_STATE_QUEUED,
    createdAt: new Date(),
    runAt: undefined,
    maxRetries: 3,
    traceId: '',
    correlationId: '',
    shadow: false,
    messageId: '',
    payloadBytes: 0,
    ...overrides,
  };
}

/** A real memory store whose writes can be made to fail or to hang, counting every write. */
function flakyStore() {
  const inner = createMemoryLedgerStore({ maxJobs: 100_000 });
  let mode: 'ok' | 'fail' | 'hang' = 'ok';
  const writes: string[][] = [];
  const store: LedgerStore = {
    ...inner,
    recordAccepted(jobs) {
      if (mode === 'fail') {
        return Promise.reject(new JackError('unavailable', 'the job ledger cannot be reached'));
      }
      if (mode === 'hang') return new Promise(() => {});
      writes.push(jobs.map((j) => j.jobId));
      return inner.recordAccepted(jobs);
    },
  };
  return {
    store,
    writes,
    set(next: typeof mode) {
      mode = next;
    },
  };
}

function logSink() {
  const lines: { level: number; msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function eventually(condition: () => boolean | Promise<boolean>, what: string) {
  const deadline = Date.now() + 5_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function countingMetrics() {
  const counts = { failed: 0, dropped: 0, depth: [] as number[] };
  const metrics: Metrics = {
    ...noopMetrics,
    ledgerWriteFailed: (n) => {
      counts.failed += n;
    },
    ledgerRecordsDropped: (n) => {
      counts.dropped += n;
    },
    ledgerBufferDepth: (n) => {
      counts.depth.push(n);
    },
  };
  return { metrics, counts };
}

describe('ledger recorder', () => {
  it('writes through to a healthy store', async () => {
    const flaky = flakyStore();
    const { logger } = logSink();
    const recorder = createLedgerRecorder({
      store: flaky.store,
      logger,
      metrics: noopMetrics,
      writeTimeoutMs: 1000,
      bufferSize: 10,
    });
    const a = job();
    await recorder.record([a]);
    expect(await flaky.store.get(a.jobId)).toBeDefined();
    expect(recorder.healthy).toBe(true);
    expect(recorder.buffered).toBe(0);
    await recorder.close();
  });

  it('writes the calls of one event-loop turn together, in one store write', async () => {
    const flaky = flakyStore();
    const { logger } = logSink();
    const recorder = createLedgerRecorder({
      store: flaky.store,
      logger,
      metrics: noopMetrics,
      writeTimeoutMs: 1000,
      bufferSize: 10,
    });
    const [a, b, c] = [job(), job(), job()];
    await Promise.all([recorder.record([a]), recorder.record([b, c])]);
    await recorder.record([job()]);
    expect(flaky.writes.map((w) => w.length)).toEqual([3, 1]);
    expect(flaky.writes[0]).toEqual([a.jobId, b.jobId, c.jobId]);
    // A call of the turn close() comes in is written before the store closes.
    const last = job();
    const recorded = recorder.record([last]);
    await recorder.close();
    await recorded;
    expect(await flaky.store.get(last.jobId)).toBeDefined();
  });

  it('never rejects when the store fails: buffers, reports unhealthy, writes when it is back, logs the outage once each way', async () => {
    const flaky = flakyStore();
    const { logger, lines } = logSink();
    const { metrics, counts } = countingMetrics();
    const recorder = createLedgerRecorder({
      store: flaky.store,
      logger,
      metrics,
      writeTimeoutMs: 1000,
      bufferSize: 100,
      retryMinMs: 5,
      retryMaxMs: 20,
    });
    const health: boolean[] = [];
    recorder.onHealthChange((h) => health.push(h));
    flaky.set('fail');
    const jobs = [job(), job(), job()];
    await recorder.record([jobs[0] as AcceptedJob]);
    await recorder.record([jobs[1] as AcceptedJob, jobs[2] as AcceptedJob]);
    expect(recorder.healthy).toBe(false);
    expect(recorder.buffered).toBe(3);
    expect(counts.failed).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 60)); // a few failed retries
    flaky.set('ok');
    await eventually(() => recorder.healthy, 'recovery');
    expect(recorder.buffered).toBe(0);
    for (const j of jobs) expect(await flaky.store.get(j.jobId)).toBeDefined();
    // Each record reached the store exactly once.
    expect(flaky.writes.flat().sort()).toEqual(jobs.map((j) => j.jobId).sort());
    expect(health).toEqual([false, true]);
    const outageLines = lines.filter((l) => l.msg.startsWith('job ledger writes'));
    expect(outageLines.map((l) => l.level)).toEqual([40, 30]);
    expect(counts.depth.at(-1)).toBe(0);
    await recorder.close();
  });

  it('answers within the write timeout when the store hangs', async () => {
    const flaky = flakyStore();
    const { logger } = logSink();
    const recorder = createLedgerRecorder({
      store: flaky.store,
      logger,
      metrics: noopMetrics,
      writeTimeoutMs: 30,
      bufferSize: 10,
      retryMinMs: 1000,
    });
    flaky.set('hang');
    // Resolves (the test would time out otherwise), with the record buffered.
    await recorder.record([job()]);
    expect(recorder.healthy).toBe(false);
    expect(recorder.buffered).toBe(1);
    // While records wait, a call does not wait for the store at all.
    let settled = false;
    const next = recorder.record([job()]).then(() => {
      settled = true;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(true);
    await next;
    flaky.set('ok');
    await recorder.close(); // one last write of what waits
    expect(flaky.writes.flat()).toHaveLength(2);
  });

  it('drops the oldest records beyond the buffer bound, and counts them', async () => {
    const flaky = flakyStore();
    const { logger } = logSink();
    const { metrics, counts } = countingMetrics();
    const recorder = createLedgerRecorder({
      store: flaky.store,
      logger,
      metrics,
      writeTimeoutMs: 1000,
      bufferSize: 3,
      retryMinMs: 5,
      retryMaxMs: 10,
    });
    flaky.set('fail');
    const jobs = Array.from({ length: 5 }, () => job());
    for (const j of jobs) await recorder.record([j]);
    expect(recorder.buffered).toBe(3);
    expect(recorder.dropped).toBe(2);
    expect(counts.dropped).toBe(2);
    flaky.set('ok');
    await eventually(() => recorder.healthy, 'recovery');
    expect(await flaky.store.get(jobs[0]?.jobId as string)).toBeUndefined();
    expect(await flaky.store.get(jobs[1]?.jobId as string)).toBeUndefined();
    for (const j of jobs.slice(2)) expect(await flaky.store.get(j.jobId)).toBeDefined();
    await recorder.close();
  });

  it('logs what is lost when the store is still down at close', async () => {
    const flaky = flakyStore();
    const { logger, lines } = logSink();
    const recorder = createLedgerRecorder({
      store: flaky.store,
      logger,
      metrics: noopMetrics,
      writeTimeoutMs: 50,
      bufferSize: 10,
      retryMinMs: 10_000,
    });
    flaky.set('fail');
    await recorder.record([job(), job()]);
    await recorder.close();
    expect(lines.at(-1)).toMatchObject({ msg: expect.stringContaining('are lost') });
    await recorder.close();
  });
});

describe('ledger retention', () => {
  it('deletes expired records batch by batch in one round, and keeps the rest', async () => {
    const store = createMemoryLedgerStore({ maxJobs: 1000 });
    const old = Array.from({ length: 25 }, () => job({ createdAt: new Date(1_000) }));
    const fresh = job({ createdAt: new Date(100_000) });
    await store.recordAccepted([...old, fresh]);
    const { logger } = logSink();
    const retention = startRetention({
      store,
      logger,
      retentionMs: 50_000,
      batchSize: 10,
      now: () => new Date(60_000),
    });
    expect(await retention.runOnce()).toBe(25);
    expect(await store.get(fresh.jobId)).toBeDefined();
    expect(await retention.runOnce()).toBe(0);
    await retention.stop();
  });

  it('survives a failing store, logging once', async () => {
    const store = createMemoryLedgerStore({ maxJobs: 10 });
    const failing: LedgerStore = {
      ...store,
      deleteExpired: () => Promise.reject(new Error('down')),
    };
    const { logger, lines } = logSink();
    const retention = startRetention({ store: failing, logger, retentionMs: 1 });
    expect(await retention.runOnce()).toBe(0);
    expect(await retention.runOnce()).toBe(0);
    expect(lines.filter((l) => l.msg.includes('retention failed'))).toHaveLength(1);
    await retention.stop();
  });
});
