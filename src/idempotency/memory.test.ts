import { describe, expect, it } from 'vitest';
import { createMemoryIdempotencyStore } from './memory.js';
import type { ClaimRequest } from './store.js';

const HOUR = 3_600_000;
const claimOf = (key: string, jobId = `pjob_${key}`): ClaimRequest => ({
  key,
  fingerprint: 'fp',
  jobId,
  leaseMs: HOUR,
  ttlMs: HOUR,
});

describe('memory idempotency store', () => {
  /** A settled key (its job accepted): what eviction may drop. */
  const settle = async (store: ReturnType<typeof createMemoryIdempotencyStore>, key: string) => {
    const claimed = await store.claim(claimOf(key));
    if (claimed.kind !== 'claimed') throw new Error(`${key} was not claimed`);
    await store.complete(key, claimed.token, HOUR);
  };

  it('keeps at most maxKeys entries, evicting the least recently used', async () => {
    const store = createMemoryIdempotencyStore({ maxKeys: 2 });
    await settle(store, 'a');
    await settle(store, 'b');
    // Touching a makes b the least recently used.
    expect(await store.claim(claimOf('a'))).toMatchObject({ kind: 'done' });
    await settle(store, 'c');
    expect(await store.claim(claimOf('a'))).toMatchObject({ kind: 'done', jobId: 'pjob_a' });
    expect(await store.claim(claimOf('c'))).toMatchObject({ kind: 'done', jobId: 'pjob_c' });
    expect(await store.claim(claimOf('b', 'pjob_b2'))).toMatchObject({
      kind: 'claimed',
      jobId: 'pjob_b2',
    });
  });

  it('when full, drops the least recently used tenth at once', async () => {
    const store = createMemoryIdempotencyStore({ maxKeys: 10 });
    for (let i = 0; i <= 10; i++) await settle(store, `k${i}`);
    // 11 > 10: down to 9, so k0 and k1 went, k2 … k10 stay.
    for (let i = 2; i <= 10; i++) {
      expect(await store.claim(claimOf(`k${i}`, 'pjob_new'))).toMatchObject({ kind: 'done' });
    }
    for (const gone of ['k0', 'k1']) {
      expect(await store.claim(claimOf(gone, 'pjob_new'))).toMatchObject({ kind: 'claimed' });
    }
  });

  it('never evicts a claim in flight: its key stays pending however many keys follow', async () => {
    let now = 1_000_000;
    const store = createMemoryIdempotencyStore({ maxKeys: 10, now: () => now });
    await store.claim({ ...claimOf('held'), leaseMs: 1000 });
    for (let i = 0; i < 30; i++) await settle(store, `k${i}`);
    expect(await store.claim(claimOf('held', 'pjob_new'))).toMatchObject({
      kind: 'pending',
      jobId: 'pjob_held',
    });
    // Once its lease has run out (its owner died) it may go like any other.
    now += 1000;
    for (let i = 30; i < 60; i++) await settle(store, `k${i}`);
    expect(await store.claim(claimOf('held', 'pjob_new'))).toMatchObject({
      kind: 'claimed',
      jobId: 'pjob_new',
      retry: false,
    });
  });

  it('expires entries by the clock it is given, lease and TTL apart', async () => {
    let now = 1_000_000;
    const store = createMemoryIdempotencyStore({ maxKeys: 10, now: () => now });
    const request = { ...claimOf('k'), leaseMs: 10, ttlMs: 100 };
    await store.claim(request);
    now += 10;
    expect(await store.claim(request)).toMatchObject({ kind: 'claimed', retry: true });
    now += 100;
    expect(await store.claim({ ...request, jobId: 'pjob_new' })).toMatchObject({
      kind: 'claimed',
      jobId: 'pjob_new',
      retry: false,
    });
  });
});
