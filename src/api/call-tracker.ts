/**
 * Counts unary calls in flight, so shutdown can wait for exactly those (a
 * health Watch stream never ends by itself and must not hold shutdown up).
 */
export interface CallTracker {
  readonly inFlight: number;
  start(): void;
  finish(): void;
  /** Resolves when no call is in flight. */
  idle(): Promise<void>;
}

export function createCallTracker(): CallTracker {
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  return {
    get inFlight() {
      return inFlight;
    },
    start() {
      inFlight++;
    },
    finish() {
      inFlight--;
      if (inFlight === 0 && waiters.length > 0) {
        const ready = waiters;
        waiters = [];
        for (const resolve of ready) resolve();
      }
    },
    idle() {
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}
