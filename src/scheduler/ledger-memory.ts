/**
 * The ledger scheduler's store with `JOB_LEDGER=memory` (development): the
 * messages of future jobs in a timer heap of this process, their records in
 * the memory ledger. Lost at exit; no other replica sees them. One thread
 * changes both, so add, cancel and fire are atomic without locks.
 */
import { JackError } from '../errors.js';
import type { LedgerStore } from '../ledger/ledger.js';
import type { ScheduledJob, ScheduleStore } from './ledger-store.js';

export interface MemoryScheduleOptions {
  ledger: LedgerStore;
  /** Most jobs waiting at once (LEDGER_MAX_JOBS): beyond it, schedule is refused. */
  maxJobs: number;
}

interface Entry {
  job: ScheduledJob;
  /** Claimed by a firing round: cancel answers NOT_FOUND. */
  firing: boolean;
}

/** A binary min-heap of (run_at, job id); cancelled ids are skipped when they surface. */
class DueHeap {
  private readonly items: { at: number; jobId: string }[] = [];

  push(at: number, jobId: string): void {
    const items = this.items;
    items.push({ at, jobId });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((items[parent] as { at: number }).at <= at) break;
      [items[i], items[parent]] = [items[parent] as never, items[i] as never];
      i = parent;
    }
  }

  peek(): { at: number; jobId: string } | undefined {
    return this.items[0];
  }

  pop(): { at: number; jobId: string } | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < items.length && (items[left]?.at ?? 0) < (items[least]?.at ?? 0)) least = left;
      if (right < items.length && (items[right]?.at ?? 0) < (items[least]?.at ?? 0)) least = right;
      if (least === i) break;
      [items[i], items[least]] = [items[least] as never, items[i] as never];
      i = least;
    }
    return top;
  }
}

export function createMemoryScheduleStore(options: MemoryScheduleOptions): ScheduleStore {
  const { ledger, maxJobs } = options;
  const entries = new Map<string, Entry>();
  const heap = new DueHeap();

  /** The earliest entry still waiting (drops heap items of cancelled or fired jobs). */
  const earliest = (): { at: number; jobId: string } | undefined => {
    for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
      const entry = entries.get(top.jobId);
      if (entry !== undefined && !entry.firing && entry.job.runAt.getTime() === top.at) return top;
      heap.pop();
    }
    return undefined;
  };

  return {
    kind: 'memory',

    async add(job) {
      const jobId = job.message.jobId;
      if (entries.has(jobId) || (await ledger.get(jobId)) !== undefined) return false;
      if (entries.size >= maxJobs) {
        throw new JackError(
          'resource_exhausted',
          `the in-memory scheduler holds ${maxJobs} jobs (LEDGER_MAX_JOBS): use JOB_LEDGER=postgres for more`,
        );
      }
      entries.set(jobId, { job, firing: false });
      heap.push(job.runAt.getTime(), jobId);
      await ledger.recordAccepted([job.record]);
      return true;
    },

    async cancel(jobId, at) {
      const entry = entries.get(jobId);
      if (entry === undefined || entry.firing) return false;
      entries.delete(jobId);
      await ledger.cancel(jobId, at);
      return true;
    },

    async fireDue(now, limit, publish) {
      const claimed: Entry[] = [];
      for (let top = earliest(); top !== undefined && claimed.length < limit; top = earliest()) {
        if (top.at > now.getTime()) break;
        heap.pop();
        const entry = entries.get(top.jobId) as Entry;
        entry.firing = true;
        claimed.push(entry);
      }
      if (claimed.length === 0) return 0;
      let outcomes: Awaited<ReturnType<typeof publish>>;
      try {
        outcomes = await publish(claimed.map((e) => e.job));
      } catch (err) {
        outcomes = claimed.map(() => ({ error: err }));
      }
      const published: { jobId: string; messageId: string }[] = [];
      claimed.forEach((entry, i) => {
        const outcome = outcomes[i];
        const jobId = entry.job.message.jobId;
        if (outcome !== undefined && 'messageId' in outcome) {
          entries.delete(jobId);
          published.push({ jobId, messageId: outcome.messageId });
        } else {
          // Not published: it waits for the next round.
          entry.firing = false;
          heap.push(entry.job.runAt.getTime(), jobId);
        }
      });
      await ledger.recordPublished(published, new Date());
      return claimed.length;
    },

    async nextRunAt() {
      const top = earliest();
      return top === undefined ? undefined : new Date(top.at);
    },

    async waiting() {
      return entries.size;
    },

    onSoon() {
      return () => {};
    },

    async ping() {},

    async close() {},
  };
}
