import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { Queue } from '../gen/jack/storage.js';
import { JobState } from '../ledger/ledger.js';
import { noopMetrics } from '../metrics.js';
import { openLedger } from './ledger.js';
import { release } from './release.js';

function sink() {
  const lines: { msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

describe('openLedger', () => {
  it('opens the memory ledger by default, says its records are lost at exit, and records through the recorder', async () => {
    const { logger, lines } = sink();
    const ledger = await openLedger(loadConfig({ LEDGER_MAX_JOBS: '5' }), logger, noopMetrics);
    expect(ledger.kind).toBe('memory');
    expect(lines.map((l) => l.msg).join('\n')).toMatch(/lost at exit/);
    if (ledger.kind === 'off') throw new Error('unreachable');
    await ledger.recorder.record([
      {
        jobId: 'j1',
        producerId: 'p',
        jobType: 't',
        queue: Queue.QUEUE_LOW,
        state: JobState.JOB_STATE_QUEUED,
        createdAt: new Date(),
        runAt: undefined,
        maxRetries: 3,
        traceId: '',
        correlationId: '',
        shadow: false,
        messageId: '',
        payloadBytes: 0,
      },
    ]);
    expect(await ledger.store.get('j1')).toMatchObject({ state: JobState.JOB_STATE_QUEUED });
    await release(ledger.releasers);
  });

  it('opens nothing with JOB_LEDGER=off', async () => {
    const { logger, lines } = sink();
    const ledger = await openLedger(loadConfig({ JOB_LEDGER: 'off' }), logger, noopMetrics);
    expect(ledger).toMatchObject({ kind: 'off', store: undefined, recorder: undefined });
    expect(lines.map((l) => l.msg).join('\n')).toMatch(/job ledger off/);
  });
});
