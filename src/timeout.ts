/**
 * The project's one "this, or give up after N ms" helper. Every bounded wait
 * (a backend call, a health check, a shutdown grace period, a test waiting
 * for a process) goes through it, so none forgets to clear its timer (a
 * timer left behind keeps the process alive and fires into a settled race).
 */

/**
 * Settles as `work` does, or, when `ms` pass first, as `onTimeout()` does
 * (return a fallback value, or throw the error that describes the timeout).
 * The timer is cleared either way; `work` itself is not cancelled.
 */
export async function withTimeout<T, U = never>(
  work: Promise<T>,
  ms: number,
  onTimeout: () => U,
): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), ms);
  });
  try {
    const winner = await Promise.race([work.then((value) => ({ value })), expired]);
    return winner === 'expired' ? onTimeout() : winner.value;
  } finally {
    clearTimeout(timer);
  }
}
