import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { logSink } from '../../test/support/jack.js';
import type { OutboundMessage } from './backend.js';
import { createNoopBackend } from './noop.js';

const message = (n: number): OutboundMessage =>
  ({
    jobId: `job-${n}`,
    priority: 'medium',
    data: Buffer.from('{}'),
    attributes: { producer_id: 'prod_1', job_type: 'resize' },
  }) as unknown as OutboundMessage;

describe('noop backend logging', () => {
  it('shows the first jobs at info, then a count per interval, not one line per job', async () => {
    const sink = logSink();
    const logger = pino({ level: 'info' }, sink.stream);
    const backend = createNoopBackend(logger, { firstLogged: 3, summaryIntervalMs: 100 });
    for (let n = 1; n <= 5; n++) await backend.publish(message(n));
    await backend.publishMany([6, 7, 8, 9, 10].map(message));
    expect(sink.lines.filter((l) => l.msg === 'noop backend accepted job')).toHaveLength(3);
    expect(sink.lines.map((l) => l.msg)).toContain(
      'noop backend: later jobs are counted, one line every 0.1 s (LOG_LEVEL=debug logs each)',
    );
    await new Promise((r) => setTimeout(r, 250));
    expect(sink.lines.filter((l) => l.msg.endsWith('more job(s) (not delivered)'))).toEqual([
      expect.objectContaining({
        jobs: 7,
        msg: 'noop backend accepted 7 more job(s) (not delivered)',
      }),
    ]);
    await backend.publish(message(11));
    await backend.close();
    // What was counted since the last line is reported at close.
    expect(sink.lines.at(-1)?.msg).toBe('noop backend accepted 1 more job(s) (not delivered)');
  });
});
