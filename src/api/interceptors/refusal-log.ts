/**
 * Expected refusals in the call log. A producer flooding Jack past its rate
 * limit (SPEC §8) is refused thousands of times a second, and a client
 * retrying an idempotency key in flight (SPEC §9) is told ABORTED on every
 * try: both are the service working as designed, answered with a retry
 * hint. One warn line each would let a single producer flood the log, so
 * these lines are sampled: at most one warn line per (method, code,
 * producer) per second, carrying `suppressed` = how many such refusals were
 * not logged at warn since the previous line; the others are logged at
 * debug (LOG_LEVEL=debug still shows every call). Every other failure keeps
 * its one warn line.
 */
import { JackError } from '../../errors.js';

/** A refusal the caller is expected to retry: rate limited, or its key is in flight. */
export function isExpectedRefusal(err: unknown): boolean {
  return (
    err instanceof JackError && (err.reason === 'rate_limited' || err.reason === 'in_progress')
  );
}

export interface RefusalSampler {
  /**
   * Called once per refusal with its key: `log` says whether it gets a warn
   * line; `suppressed` is the number of refusals of this key since the last
   * warn line that did not get one.
   */
  take(key: string): { log: boolean; suppressed: number };
}

export interface RefusalSamplerOptions {
  /** One warn line per key per interval, ms. @default 1000 */
  intervalMs?: number;
  /** Keys remembered; beyond it, keys whose interval ended are forgotten. @default 10000 */
  maxKeys?: number;
  now?: () => number;
}

export function createRefusalSampler(options: RefusalSamplerOptions = {}): RefusalSampler {
  const intervalMs = options.intervalMs ?? 1000;
  const maxKeys = options.maxKeys ?? 10_000;
  const now = options.now ?? (() => performance.now());
  /** Per key: when its last warn line was written, and the refusals since then. */
  const windows = new Map<string, { loggedAt: number; suppressed: number }>();

  const makeRoom = (at: number) => {
    // A forgotten key only loses its pending count; its next refusal logs.
    for (const [key, w] of windows) {
      if (at - w.loggedAt >= intervalMs) windows.delete(key);
    }
    if (windows.size >= maxKeys) windows.clear();
  };

  return {
    take(key) {
      const at = now();
      const window = windows.get(key);
      if (window !== undefined && at - window.loggedAt < intervalMs) {
        window.suppressed += 1;
        return { log: false, suppressed: window.suppressed };
      }
      const suppressed = window?.suppressed ?? 0;
      if (window === undefined) {
        if (windows.size >= maxKeys) makeRoom(at);
        windows.set(key, { loggedAt: at, suppressed: 0 });
      } else {
        window.loggedAt = at;
        window.suppressed = 0;
      }
      return { log: true, suppressed };
    },
  };
}

/** The sampling key of a refused call: its method, code and producer (bounded). */
export function refusalKey(method: string, code: string, request: unknown): string {
  const producerId = (request as { producerId?: unknown } | null | undefined)?.producerId;
  const producer = typeof producerId === 'string' ? producerId.slice(0, 256) : '';
  return `${method} ${code} ${producer}`;
}
