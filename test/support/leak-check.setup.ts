/**
 * vitest setupFile of the integration project: fails a test file that
 * leaves a server, client, backend or child process open (see leaks.ts).
 * A leak makes the next file slower or flaky on a shared machine, and in
 * production the same code path would leak too.
 */
import { afterAll, beforeAll } from 'vitest';
import { type HandleCounts, handleCounts, leaksSince } from './leaks.js';

let before: HandleCounts;

beforeAll(() => {
  before = handleCounts();
});

afterAll(async () => {
  const leaks = await leaksSince(before);
  if (leaks.length > 0) {
    throw new Error(`this test file left open: ${leaks.join('; ')}`);
  }
});
