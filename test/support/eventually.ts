import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` every 50 ms until it returns true; fails after a generous
 * bound. For "replica B learns it within a refresh": not a timing assertion.
 */
export async function eventually(what: string, probe: () => Promise<boolean>, boundMs = 10_000) {
  const deadline = Date.now() + boundMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(50);
  }
  throw new Error(`${what}: not within ${boundMs} ms`);
}
