import { describe, expect, it } from 'vitest';
import { withTimeout } from './timeout.js';

const resolveAfter = <T>(ms: number, value: T) =>
  new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe('withTimeout', () => {
  it('settles as the work when it is in time', async () => {
    await expect(withTimeout(resolveAfter(5, 'done'), 1_000, () => 'late')).resolves.toBe('done');
    await expect(
      withTimeout(Promise.reject(new Error('failed')), 1_000, () => 'late'),
    ).rejects.toThrow('failed');
  });

  it('settles as onTimeout when the time is up: a fallback value or its error', async () => {
    await expect(withTimeout(resolveAfter(1_000, 'done'), 5, () => 'late')).resolves.toBe('late');
    await expect(
      withTimeout(resolveAfter(1_000, 'done'), 5, () => {
        throw new Error('no answer within 5 ms');
      }),
    ).rejects.toThrow('no answer within 5 ms');
  });

  it('leaves no timer behind once the work has settled', async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    await withTimeout(Promise.resolve(1), 60_000, () => 0);
    const timersAfter = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(timersAfter).toBe(timersBefore);
  });
});
