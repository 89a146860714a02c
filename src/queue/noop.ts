import type { Logger } from 'pino';
import type { Backend, OutboundMessage } from './backend.js';

export interface NoopBackendOptions {
  /** Accepted jobs logged one by one at info level, from the start. @default 10 */
  firstLogged?: number;
  /** After those, one info line with the count per this interval, ms. @default 10_000 */
  summaryIntervalMs?: number;
}

/**
 * A backend that accepts every job and only logs it. For development and
 * tests: jobs are not delivered anywhere, which `app/adapters.ts` announces at
 * startup. A newcomer must see that a job arrived, without a flood under
 * load: the first jobs are logged one by one at info, then a count per
 * interval (every job at debug level, as before).
 */
export function createNoopBackend(logger: Logger, options: NoopBackendOptions = {}): Backend {
  const firstLogged = options.firstLogged ?? 10;
  const summaryIntervalMs = options.summaryIntervalMs ?? 10_000;
  let sequence = 0;
  let sinceSummary = 0;
  const summarize = () => {
    if (sinceSummary === 0) return;
    logger.info(
      { jobs: sinceSummary, intervalMs: summaryIntervalMs },
      `noop backend accepted ${sinceSummary} more job(s) (not delivered)`,
    );
    sinceSummary = 0;
  };
  const summary = setInterval(summarize, summaryIntervalMs);
  summary.unref();

  const accept = (message: OutboundMessage): string => {
    sequence += 1;
    const one = sequence <= firstLogged;
    if (one || logger.isLevelEnabled('debug')) {
      const fields = {
        jobId: message.jobId,
        producerId: message.attributes.producer_id,
        jobType: message.attributes.job_type,
        priority: message.priority,
        payloadBytes: message.data.length,
      };
      if (one) logger.info(fields, 'noop backend accepted job');
      else logger.debug(fields, 'noop backend accepted job');
    }
    if (sequence === firstLogged) {
      logger.info(
        `noop backend: later jobs are counted, one line every ${summaryIntervalMs / 1000} s (LOG_LEVEL=debug logs each)`,
      );
    }
    if (!one) sinceSummary += 1;
    return `noop-${sequence}`;
  };
  return {
    kind: 'noop',
    publish: async (message) => accept(message),
    // Settled results built directly: no promise per job of a bulk call.
    publishMany: async (messages) =>
      messages.map(
        (message): PromiseSettledResult<string> => ({
          status: 'fulfilled',
          value: accept(message),
        }),
      ),
    check: async () => {},
    close: async () => {
      clearInterval(summary);
      summarize();
    },
  };
}
