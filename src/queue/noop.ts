import type { Logger } from 'pino';
import type { Backend, OutboundMessage } from './backend.js';

/**
 * A backend that accepts every job and only logs it (at debug level, so the
 * enqueue hot path stays free of I/O by default). For development and tests:
 * jobs are not delivered anywhere, which `main.ts` announces at startup.
 */
export function createNoopBackend(logger: Logger): Backend {
  let sequence = 0;
  const publish = async (message: OutboundMessage): Promise<string> => {
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
    publish,
    publishMany: (messages) => Promise.allSettled(messages.map(publish)),
    check: async () => {},
    close: async () => {},
  };
}
