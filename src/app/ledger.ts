/**
 * The job ledger (SPEC §14), opened at startup: the store JOB_LEDGER names,
 * the recorder the enqueue path writes through, and the retention loop.
 * `pg` loads only with JOB_LEDGER=postgres. The caller pushes `releasers`
 * onto its release list (released last-in-first-out: retention stops, the
 * recorder writes what waits, then the store closes).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { LedgerStore } from '../ledger/ledger.js';
import { createMemoryLedgerStore } from '../ledger/memory.js';
import {
  createLedgerRecorder,
  type LedgerRecorder,
  type Retention,
  startRetention,
} from '../ledger/recorder.js';
import type { Metrics } from '../metrics.js';
import type { Releaser } from './release.js';

export type OpenedLedger =
  | { kind: 'off'; store: undefined; recorder: undefined; retention: undefined; releasers: [] }
  | {
      kind: 'memory' | 'postgres';
      store: LedgerStore;
      recorder: LedgerRecorder;
      retention: Retention;
      releasers: Releaser[];
    };

/** Opens the ledger of `config.ledger`; rejects with a one-line reason (unreachable, newer schema). */
export async function openLedger(
  config: Readonly<Config>,
  logger: Logger,
  metrics: Metrics,
): Promise<OpenedLedger> {
  const settings = config.ledger;
  if (settings.kind === 'off') {
    logger.info('job ledger off (JOB_LEDGER=off): the Jobs service answers FAILED_PRECONDITION');
    return {
      kind: 'off',
      store: undefined,
      recorder: undefined,
      retention: undefined,
      releasers: [],
    };
  }
  let store: LedgerStore;
  if (settings.kind === 'postgres') {
    const url = settings.databaseUrl;
    if (url === undefined) throw new Error('JOB_LEDGER=postgres needs LEDGER_DATABASE_URL');
    const { openPostgresLedgerStore } = await import('../ledger/postgres.js');
    store = await openPostgresLedgerStore({ url: url.reveal(), logger, metrics });
  } else {
    store = createMemoryLedgerStore({ maxJobs: settings.maxJobs, metrics });
    logger.info(
      { maxJobs: settings.maxJobs },
      'job ledger in memory: records are per replica and lost at exit (set JOB_LEDGER=postgres and LEDGER_DATABASE_URL to keep and share them)',
    );
  }
  const recorder = createLedgerRecorder({
    store,
    logger,
    metrics,
    writeTimeoutMs: settings.writeTimeoutMs,
    bufferSize: settings.bufferSize,
  });
  const retention = startRetention({ store, logger, retentionMs: settings.retentionMs });
  return {
    kind: settings.kind,
    store,
    recorder,
    retention,
    releasers: [() => store.close(), () => recorder.close(), () => retention.stop()],
  };
}
