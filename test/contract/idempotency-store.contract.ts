/**
 * The behaviour every idempotency store must have (src/idempotency/store.ts).
 * Each medium's test calls `describeIdempotencyStoreContract` with a fixture
 * that opens stores on one backing; for a shared medium (Redis) two stores
 * stand for two replicas.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimRequest, IdempotencyStore } from '../../src/idempotency/store.js';

export interface IdempotencyStoreFixture {
  open(): Promise<IdempotencyStore>;
  dispose(): Promise<void>;
}

const HOUR = 3_600_000;

let counter = 0;
/** A claim of a key unique to this test run. */
function request(overrides: Partial<ClaimRequest> = {}): ClaimRequest {
  counter += 1;
  return {
    key: `contract-${process.pid}-${Date.now()}-${counter}`,
    fingerprint: 'fp-a',
    jobId: `pjob_first${counter}`,
    leaseMs: HOUR,
    ttlMs: HOUR,
    ...overrides,
  };
}

export function describeIdempotencyStoreContract(
  name: string,
  /** True when two stores of one fixture share their entries (replicas). */
  shared: boolean,
  makeFixture: () => Promise<IdempotencyStoreFixture>,
) {
  describe(`idempotency store contract: ${name}`, () => {
    let fixture: IdempotencyStoreFixture;
    let store: IdempotencyStore;
    beforeEach(async () => {
      fixture = await makeFixture();
      store = await fixture.open();
    });
    afterEach(async () => {
      await store.close();
      await fixture.dispose();
    });

    it('claims a new key with the proposed job id', async () => {
      const first = request();
      expect(await store.claim(first)).toMatchObject({
        kind: 'claimed',
        jobId: first.jobId,
        retry: false,
      });
    });

    it('answers pending, with the first job id, while the claim is live', async () => {
      const first = request();
      await store.claim(first);
      expect(await store.claim({ ...first, jobId: 'pjob_other' })).toEqual({
        kind: 'pending',
        jobId: first.jobId,
        fingerprint: 'fp-a',
        stale: false,
      });
      expect(await store.claim({ ...first, fingerprint: 'fp-b' })).toMatchObject({
        kind: 'pending',
        stale: false,
      });
    });

    it('remembers a completed key with its job id and fingerprint', async () => {
      const first = request();
      const claim = await store.claim(first);
      if (claim.kind !== 'claimed') throw new Error('not claimed');
      await store.complete(first.key, claim.token, HOUR);
      const again = { ...first, jobId: 'pjob_other' };
      expect(await store.claim(again)).toEqual({
        kind: 'done',
        jobId: first.jobId,
        fingerprint: 'fp-a',
      });
      expect(await store.claim({ ...again, fingerprint: 'fp-b' })).toEqual({
        kind: 'done',
        jobId: first.jobId,
        fingerprint: 'fp-a',
      });
    });

    it('forgets a released key: the next claim records a new job id', async () => {
      const first = request();
      const claim = await store.claim(first);
      if (claim.kind !== 'claimed') throw new Error('not claimed');
      await store.release(first.key, claim.token);
      expect(await store.claim({ ...first, jobId: 'pjob_second' })).toMatchObject({
        kind: 'claimed',
        jobId: 'pjob_second',
        retry: false,
      });
    });

    it('after an unknown outcome, gives the same request the same job id at once', async () => {
      const first = request();
      const claim = await store.claim(first);
      if (claim.kind !== 'claimed') throw new Error('not claimed');
      await store.abandon(first.key, claim.token);
      expect(await store.claim({ ...first, fingerprint: 'fp-b' })).toEqual({
        kind: 'pending',
        jobId: first.jobId,
        fingerprint: 'fp-a',
        stale: true,
      });
      const retry = await store.claim({ ...first, jobId: 'pjob_second' });
      expect(retry).toMatchObject({ kind: 'claimed', jobId: first.jobId, retry: true });
      // The retry owns the key now: exclusive again.
      expect(await store.claim(first)).toMatchObject({ kind: 'pending', stale: false });
    });

    it('lets the same request take over a claim whose lease ran out (its owner died)', async () => {
      const first = request({ leaseMs: 100 });
      const dead = await store.claim(first);
      if (dead.kind !== 'claimed') throw new Error('not claimed');
      expect(await store.claim(first)).toMatchObject({ kind: 'pending', stale: false });
      await sleep(150);
      const retry = await store.claim({ ...first, jobId: 'pjob_second' });
      expect(retry).toMatchObject({ kind: 'claimed', jobId: first.jobId, retry: true });
      if (retry.kind !== 'claimed') throw new Error('not claimed');
      expect(retry.token).not.toBe(dead.token);
      // The late owner's settle no longer counts.
      await store.complete(first.key, dead.token, HOUR);
      await store.release(first.key, dead.token);
      expect(await store.claim(first)).toMatchObject({ kind: 'pending', jobId: first.jobId });
      await store.complete(first.key, retry.token, HOUR);
      expect(await store.claim(first)).toMatchObject({ kind: 'done', jobId: first.jobId });
    });

    it('ignores settles with a token that does not own the key', async () => {
      const first = request();
      await store.claim(first);
      await store.complete(first.key, 'not-the-token', HOUR);
      await store.release(first.key, 'not-the-token');
      await store.abandon(first.key, 'not-the-token');
      expect(await store.claim(first)).toMatchObject({ kind: 'pending', stale: false });
    });

    it('forgets entries after their TTL', async () => {
      const first = request({ ttlMs: 100 });
      const claim = await store.claim(first);
      if (claim.kind !== 'claimed') throw new Error('not claimed');
      await store.complete(first.key, claim.token, 100);
      expect(await store.claim(first)).toMatchObject({ kind: 'done' });
      await sleep(150);
      expect(await store.claim({ ...first, jobId: 'pjob_second' })).toMatchObject({
        kind: 'claimed',
        jobId: 'pjob_second',
      });
    });

    it('gives a retried claim a fresh TTL', async () => {
      const first = request({ ttlMs: 300 });
      const claim = await store.claim(first);
      if (claim.kind !== 'claimed') throw new Error('not claimed');
      await store.abandon(first.key, claim.token);
      await sleep(200);
      const retry = await store.claim({ ...first, ttlMs: 1_000 });
      expect(retry).toMatchObject({ kind: 'claimed', jobId: first.jobId, retry: true });
      await sleep(200);
      // 400 ms after the first claim: alive only because the retry renewed it.
      expect(await store.claim(first)).toMatchObject({ kind: 'pending', jobId: first.jobId });
    });

    it('keeps keys apart', async () => {
      const a = request();
      const b = request();
      await store.claim(a);
      expect(await store.claim(b)).toMatchObject({ kind: 'claimed', jobId: b.jobId });
    });

    it('gives a key to exactly one of many concurrent claims', async () => {
      const first = request();
      const stores = shared ? [store, await fixture.open()] : [store];
      try {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            (stores[i % stores.length] as IdempotencyStore).claim({
              ...first,
              jobId: `pjob_${i}`,
            }),
          ),
        );
        const claimed = results.filter((r) => r.kind === 'claimed');
        expect(claimed).toHaveLength(1);
        const winner = claimed[0]?.jobId;
        for (const r of results) {
          if (r.kind !== 'claimed') expect(r).toMatchObject({ kind: 'pending', jobId: winner });
        }
      } finally {
        if (stores[1] !== undefined) await stores[1].close();
      }
    });

    if (shared)
      it('is shared by stores on one backing (replicas)', async () => {
        const other = await fixture.open();
        try {
          const first = request();
          const claim = await store.claim(first);
          if (claim.kind !== 'claimed') throw new Error('not claimed');
          expect(await other.claim(first)).toMatchObject({ kind: 'pending', jobId: first.jobId });
          // The owner's token is valid at every replica.
          await other.complete(first.key, claim.token, HOUR);
          expect(await other.claim(first)).toMatchObject({ kind: 'done', jobId: first.jobId });
        } finally {
          await other.close();
        }
      });
  });
}
