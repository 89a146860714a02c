import type { Logger } from 'pino';
import type { Backend, OutboundMessage } from './backend.js';

/**
 * A backend that accepts every job and only logs it (at debug level, so the
 * enqueue hot path stays free of I/O by default). For development and tests:
 * jobs are not delivered anywhere, which `app.ts` announces at startup.
 */
export function createNoopBackend(logger: Logger): Backend {
  let sequence = 0;
  const accept = (message: OutboundMessage): string => {
    if (logger.isLevelEnabled('debug')) {
      logger.debug(
        {
          jobId: message.jobId,
          producerId: message.attributes.producer_id,
          jobType: message.attributes.job_type,
          priority: message.priority,
          payloadBytes: message.data.length,
        },
        'noop backend accepted job',
      );
    }
    sequence += 1;
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
    close: async () => {},
  };
}
