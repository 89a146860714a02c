import { describe, expect, it } from 'vitest';
import { createConsoleStats } from './console-stats.js';

describe('console stats', () => {
  it('counts accepted jobs per priority, not refused or failed ones', () => {
    const stats = createConsoleStats();
    stats.metrics.jobFinished('high', 'published');
    stats.metrics.jobFinished('high', 'scheduled');
    stats.metrics.jobFinished('low', 'failed');
    stats.metrics.jobFinished(undefined, 'refused');
    expect(stats.snapshot().enqueued).toEqual({ immediate: 0, high: 2, medium: 0, low: 0 });
  });

  it("measures pickups against each lane's promise (5, 15, 60, 300 s)", () => {
    const stats = createConsoleStats();
    stats.metrics.jobPickedUp('immediate', 4.5);
    stats.metrics.jobPickedUp('immediate', 5);
    stats.metrics.jobPickedUp('immediate', 5.5);
    stats.metrics.jobPickedUp('low', 200);
    const { pickup } = stats.snapshot();
    expect(pickup.immediate).toEqual({
      count: 3,
      withinPromise: 2,
      sumSeconds: 15,
      promiseSeconds: 5,
    });
    expect(pickup.low).toMatchObject({ count: 1, withinPromise: 1, promiseSeconds: 300 });
    expect([pickup.high.promiseSeconds, pickup.medium.promiseSeconds]).toEqual([15, 60]);
  });

  it('keeps the ledger buffer and the scheduler backlog, and hands out copies', () => {
    const stats = createConsoleStats();
    stats.metrics.ledgerBufferDepth(7);
    stats.metrics.ledgerWriteFailed(3);
    stats.metrics.ledgerRecordsDropped(1);
    stats.metrics.scheduledWaiting(12);
    const first = stats.snapshot();
    expect(first.ledger).toEqual({ bufferedRecords: 7, writeFailures: 3, droppedRecords: 1 });
    expect(first.scheduler).toEqual({ waitingJobs: 12 });
    first.enqueued.high = 99;
    expect(stats.snapshot().enqueued.high).toBe(0);
  });
});
