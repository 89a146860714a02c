/**
 * The ledger scheduler (`SCHEDULER=ledger`, SPEC §16): a future job's whole
 * message is kept with its SCHEDULED record (./ledger-store.ts) and
 * published through the configured backend — any backend — when due; its
 * record then reads QUEUED.
 *
 * When to look: a timer set to the earliest run_at the store knows, capped
 * at one poll interval (so jobs another replica added are found in time,
 * and jobs left by a replica that died are taken over); moved earlier by a
 * job scheduled on this replica, or announced by another one, that is due
 * sooner. A due batch is published with bounded concurrency; while batches
 * come back full the next follows at once, so a burst of due jobs drains at
 * the backend's pace.
 */
import type { Logger } from 'pino';
import { JackError, toError } from '../errors.js';
import { type Metrics, noopMetrics } from '../metrics.js';
import type { Backend } from '../queue/backend.js';
import {
  type DueJob,
  type PublishOutcome,
  recordOfMessage,
  type ScheduleStore,
} from './ledger-store.js';
import type { Scheduler } from './scheduler.js';

export interface LedgerSchedulerOptions {
  store: ScheduleStore;
  backend: Backend;
  logger: Logger;
  metrics?: Metrics;
  /** Longest gap between two looks at the store, ms (default 1000). */
  pollIntervalMs?: number;
  /** Most jobs claimed in one transaction (default 500). */
  batchSize?: number;
  /** Most publishes in flight at once (default 64). */
  publishConcurrency?: number;
  /** How often the waiting gauge is counted, ms (default 5000: a count is a scan on PostgreSQL). */
  waitingCountIntervalMs?: number;
}

export const DEFAULT_POLL_INTERVAL_MS = 1_000;
const DEFAULT_BATCH_SIZE = 500;
const DEFAULT_PUBLISH_CONCURRENCY = 64;
/** When due jobs are held by another replica (it is publishing them): look again after this, ms. */
const HELD_RETRY_MS = 100;

export function createLedgerScheduler(options: LedgerSchedulerOptions): Scheduler {
  const { store, backend, logger } = options;
  const metrics = options.metrics ?? noopMetrics;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const concurrency = options.publishConcurrency ?? DEFAULT_PUBLISH_CONCURRENCY;
  const countIntervalMs = options.waitingCountIntervalMs ?? 5_000;

  let timer: NodeJS.Timeout | undefined;
  /** When the timer fires (ms epoch); Infinity when none is set. */
  let wakeAt = Number.POSITIVE_INFINITY;
  let round: Promise<void> | undefined;
  /** Another look was asked for while a round ran. */
  let lookAgain = false;
  let stopped = false;
  /** The failure of the last round, while the store or backend is failing (logged once per outage). */
  let failing: Error | undefined;
  let lastCountAt = 0;

  /** Wakes at `at` (ms epoch), unless a wake-up is already set sooner. */
  const wakeBy = (at: number) => {
    if (stopped || at >= wakeAt) return;
    if (timer !== undefined) clearTimeout(timer);
    wakeAt = at;
    timer = setTimeout(
      () => {
        timer = undefined;
        wakeAt = Number.POSITIVE_INFINITY;
        look();
      },
      Math.max(0, at - Date.now()),
    );
  };

  /**
   * Publishes claimed jobs, at most `concurrency` at once; one outcome per
   * job, in order. After the first failure no further publish starts: the
   * backend is likely down, and the batch's transaction must not stay open
   * for one publish timeout per wave. The untried jobs stay scheduled.
   */
  const publishAll = async (jobs: readonly DueJob[]): Promise<PublishOutcome[]> => {
    const untried = new JackError('unavailable', 'not tried after an earlier publish failed');
    const outcomes: PublishOutcome[] = jobs.map(() => ({ error: untried }));
    let next = 0;
    let failedOnce = false;
    const lane = async () => {
      while (next < jobs.length && !failedOnce) {
        const i = next++;
        const job = jobs[i] as DueJob;
        try {
          const messageId = await backend.publish(job.message);
          metrics.scheduledPublished((Date.now() - job.runAt.getTime()) / 1000);
          outcomes[i] = { messageId };
        } catch (err) {
          failedOnce = true;
          outcomes[i] = { error: err };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, lane));
    const failed = outcomes.filter((o): o is { error: unknown } => 'error' in o);
    if (failed.length > 0) {
      const cause = failed.find((o) => o.error !== untried)?.error;
      throw Object.assign(
        new JackError(
          'unavailable',
          `${failed.length} of ${jobs.length} due jobs were not published (${toError(cause).message}); they stay scheduled`,
          { cause },
        ),
        { outcomes },
      );
    }
    return outcomes;
  };

  /** One round: every due job this replica can claim, then the next wake-up. */
  const fireRound = async () => {
    let publishFailed = false;
    let next: Date | undefined;
    try {
      for (;;) {
        const claimed = await store.fireDue(new Date(), batchSize, (jobs) =>
          publishAll(jobs).catch((err: unknown) => {
            // Publish what could be published; the rest waits for the next round.
            publishFailed = true;
            noteFailure(err);
            return (err as { outcomes: PublishOutcome[] }).outcomes;
          }),
        );
        if (claimed < batchSize || stopped || publishFailed) break;
      }
      next = await store.nextRunAt();
      if (Date.now() - lastCountAt >= countIntervalMs) {
        lastCountAt = Date.now();
        metrics.scheduledWaiting(await store.waiting());
      }
      if (!publishFailed) noteRecovered();
    } catch (err) {
      noteFailure(err);
      publishFailed = true;
    }
    const now = Date.now();
    let at = now + pollIntervalMs;
    if (!publishFailed && next !== undefined) {
      // Due but not claimed: another replica is publishing it (or just let it go).
      at = Math.min(at, Math.max(next.getTime(), now + HELD_RETRY_MS));
    }
    wakeBy(at);
  };

  const noteFailure = (err: unknown) => {
    const error = toError(err);
    if (failing === undefined) {
      logger.warn(
        { err: error },
        'ledger scheduler: due jobs cannot be published now; they stay scheduled and are retried',
      );
    }
    failing = error;
  };
  const noteRecovered = () => {
    if (failing === undefined) return;
    failing = undefined;
    logger.info('ledger scheduler: publishing due jobs again');
  };

  /** Runs a round now, or right after the one running. */
  const look = () => {
    if (stopped) return;
    if (round !== undefined) {
      lookAgain = true;
      return;
    }
    round = (async () => {
      do {
        lookAgain = false;
        await fireRound();
      } while (lookAgain && !stopped);
    })().finally(() => {
      round = undefined;
    });
  };

  const unsubscribe = store.onSoon((runAt) => wakeBy(runAt.getTime()));
  // Jobs that fell due while no replica ran are published at once.
  look();
  const where = { store: store.kind, pollIntervalMs, publishVia: backend.kind };
  if (store.kind === 'memory') {
    logger.warn(
      where,
      'SCHEDULER=ledger with JOB_LEDGER=memory: scheduled jobs are kept in this process and LOST at exit (for development only; use JOB_LEDGER=postgres)',
    );
  } else {
    logger.info(
      where,
      'future jobs are kept in the job ledger (PostgreSQL) and published by Jack when due',
    );
  }

  let closing: Promise<void> | undefined;
  return {
    kind: 'ledger',

    async schedule(message, runAt, payloadBytes = message.data.length) {
      await store.add({ message, runAt, record: recordOfMessage(message, runAt, payloadBytes) });
      wakeBy(runAt.getTime());
    },

    async cancel(jobId) {
      if (!(await store.cancel(jobId, new Date()))) {
        throw new JackError(
          'not_found',
          `no scheduled job ${jobId}: never scheduled, already published (or being published) or already cancelled`,
        );
      }
    },

    async check() {
      await store.ping();
      if (failing !== undefined) {
        throw new JackError('unavailable', `due jobs cannot be published: ${failing.message}`);
      }
    },

    close() {
      closing ??= (async () => {
        stopped = true;
        unsubscribe();
        if (timer !== undefined) clearTimeout(timer);
        // The round in flight finishes its publishes and commits: nothing is lost.
        await round;
        await store.close();
      })();
      return closing;
    },
  };
}
