/**
 * The periodic re-read of the config store. A refresh slower than the
 * interval (a store timing out) skips ticks instead of piling up concurrent
 * reads; a failed one is logged and the last snapshot keeps serving.
 */
import type { Logger } from 'pino';

export interface RefresherOptions {
  /** Re-reads the store; rejects when it cannot. */
  refresh: () => Promise<void>;
  /** 0 = never (tests call refresh() themselves). */
  intervalMs: number;
  logger: Logger;
  /** The store's kind, for the log line. */
  kind: string;
}

export interface Refresher {
  /** Stops the timer; a refresh already running finishes on its own. Safe to call twice. */
  stop(): void;
}

export function startRefresher(options: RefresherOptions): Refresher {
  const { refresh, intervalMs, logger, kind } = options;
  let refreshing = false;
  let stopped = false;
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          if (refreshing || stopped) return;
          refreshing = true;
          refresh()
            .catch((err: unknown) => {
              logger.warn(
                { err, store: kind },
                'config store refresh failed; serving the last snapshot',
              );
            })
            .finally(() => {
              refreshing = false;
            });
        }, intervalMs)
      : undefined;
  timer?.unref();
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
    },
  };
}
