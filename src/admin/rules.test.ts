import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import { withFreshId } from './rules.js';

describe('withFreshId', () => {
  it('skips ids this replica knows and retries an id another replica took meanwhile', async () => {
    const ids = ['known', 'raced', 'free'];
    const tried: string[] = [];
    const result = await withFreshId(
      () => ids.shift() ?? 'none',
      (id) => id === 'known',
      async (id) => {
        tried.push(id);
        if (id === 'raced') throw new JackError('already_exists', `taken: ${id}`);
        return id;
      },
    );
    expect(result).toBe('free');
    expect(tried).toEqual(['raced', 'free']);
  });

  it('gives up after three taken ids and passes other errors through at once', async () => {
    let calls = 0;
    const taken = withFreshId(
      () => `id${calls}`,
      () => false,
      async () => {
        calls++;
        throw new JackError('already_exists', 'taken');
      },
    );
    await expect(taken).rejects.toThrow('taken');
    expect(calls).toBe(3);
    await expect(
      withFreshId(
        () => 'x',
        () => false,
        async () => {
          throw new JackError('unavailable', 'down');
        },
      ),
    ).rejects.toThrow('down');
  });
});
