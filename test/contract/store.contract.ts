/**
 * The behaviour every config store must have (src/storage/store.ts),
 * whatever its medium. Each medium's test calls `describeStoreContract` with
 * a fixture that opens stores on one shared backing (one bucket, one
 * directory, one set of memory objects): two stores on it stand for two
 * replicas.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isJackError } from '../../src/errors.js';
import { Queue } from '../../src/gen/jack/storage.js';
import type { JobType, Producer, Store } from '../../src/storage/store.js';

export interface StoreFixture {
  /** Opens one more store (replica) on the fixture's backing. */
  open(): Promise<Store>;
  /** Releases the backing (temp dir, fake server); stores are closed before. */
  dispose(): Promise<void>;
}

export function producer(id: string, createdAtMs: number, name = id): Producer {
  const at = new Date(createdAtMs);
  return {
    producerId: id,
    name,
    description: `${name} description`,
    rateLimitRps: 1000,
    principals: [],
    createdAt: at,
    updatedAt: at,
  };
}

export function jobType(producerId: string, name: string, queue = Queue.QUEUE_HIGH): JobType {
  const at = new Date(1_750_000_000_000);
  return {
    producerId,
    name,
    queue,
    maxRetries: 5,
    description: '',
    createdAt: at,
    updatedAt: at,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but it resolved');
}

export function describeStoreContract(name: string, makeFixture: () => Promise<StoreFixture>) {
  describe(`store contract: ${name}`, () => {
    let fixture: StoreFixture;
    let opened: Store[];
    const open = async () => {
      const store = await fixture.open();
      opened.push(store);
      return store;
    };

    beforeEach(async () => {
      fixture = await makeFixture();
      opened = [];
    });
    afterEach(async () => {
      await Promise.all(opened.map((s) => s.close()));
      await fixture.dispose();
    });

    it('starts empty', async () => {
      const store = await open();
      expect(store.listProducers()).toEqual([]);
      expect(store.getProducer('prod_00000000')).toBeUndefined();
      expect(store.listJobTypes('prod_00000000')).toEqual([]);
      expect(store.getJobType('prod_00000000', 'x')).toBeUndefined();
      expect(store.lastRefreshError()).toBeUndefined();
    });

    it('gets and lists producers ordered by created_at, then producer_id', async () => {
      const store = await open();
      await store.createProducer(producer('prod_cccccccc', 3_000));
      await store.createProducer(producer('prod_bbbbbbbb', 1_000));
      await store.createProducer(producer('prod_aaaaaaaa', 3_000));
      expect(store.listProducers().map((p) => p.producerId)).toEqual([
        'prod_bbbbbbbb',
        'prod_aaaaaaaa',
        'prod_cccccccc',
      ]);
      expect(store.getProducer('prod_bbbbbbbb')).toEqual(producer('prod_bbbbbbbb', 1_000));
    });

    it('lists one producer’s job types sorted by name; an unknown producer has none', async () => {
      const store = await open();
      await store.createProducer(producer('prod_aaaaaaaa', 1_000));
      await store.createProducer(producer('prod_bbbbbbbb', 2_000));
      await store.createJobType(jobType('prod_aaaaaaaa', 'zeta'));
      await store.createJobType(jobType('prod_aaaaaaaa', 'alpha', Queue.QUEUE_LOW));
      await store.createJobType(jobType('prod_bbbbbbbb', 'mid'));
      expect(store.listJobTypes('prod_aaaaaaaa').map((t) => t.name)).toEqual(['alpha', 'zeta']);
      expect(store.listJobTypes('prod_bbbbbbbb').map((t) => t.name)).toEqual(['mid']);
      expect(store.listJobTypes('prod_unknown0')).toEqual([]);
      expect(store.getJobType('prod_aaaaaaaa', 'alpha')).toEqual(
        jobType('prod_aaaaaaaa', 'alpha', Queue.QUEUE_LOW),
      );
    });

    it('refuses a job type of an unknown producer with not_found', async () => {
      const store = await open();
      const err = await rejection(store.createJobType(jobType('prod_12345678', 'x')));
      expect(isJackError(err, 'not_found')).toBe(true);
      expect((err as Error).message).toBe('producer not found: prod_12345678');
      expect(store.listJobTypes('prod_12345678')).toEqual([]);
    });

    it('refuses a duplicate job type with already_exists, also one created by another replica', async () => {
      const a = await open();
      const b = await open();
      await a.createProducer(producer('prod_aaaaaaaa', 1_000));
      await a.createJobType(jobType('prod_aaaaaaaa', 'send'));
      const again = await rejection(
        a.createJobType({ ...jobType('prod_aaaaaaaa', 'send'), description: 'other' }),
      );
      expect(isJackError(again, 'already_exists')).toBe(true);
      // b has not refreshed: its snapshot knows neither the producer nor the type.
      const fromB = await rejection(
        b.createJobType({ ...jobType('prod_aaaaaaaa', 'send'), maxRetries: 9 }),
      );
      expect(isJackError(fromB, 'already_exists')).toBe(true);
      await b.refresh();
      expect(b.listJobTypes('prod_aaaaaaaa')).toEqual([jobType('prod_aaaaaaaa', 'send')]);
    });

    it('sees another replica’s writes after refresh, and loses none of either', async () => {
      const a = await open();
      const b = await open();
      await a.createProducer(producer('prod_aaaaaaaa', 1_000));
      expect(b.getProducer('prod_aaaaaaaa')).toBeUndefined();
      // b writes from a stale snapshot: the conditional write must not erase a's producer.
      await b.createProducer(producer('prod_bbbbbbbb', 2_000));
      await a.refresh();
      await b.refresh();
      for (const store of [a, b]) {
        expect(store.listProducers().map((p) => p.producerId)).toEqual([
          'prod_aaaaaaaa',
          'prod_bbbbbbbb',
        ]);
      }
      await b.createJobType(jobType('prod_aaaaaaaa', 'from_b'));
      await a.createJobType(jobType('prod_bbbbbbbb', 'from_a'));
      await a.refresh();
      expect(a.getJobType('prod_aaaaaaaa', 'from_b')).toBeDefined();
      expect(a.getJobType('prod_bbbbbbbb', 'from_a')).toBeDefined();
    });

    it('applies a burst of concurrent creates, refusing a duplicate within the burst once', async () => {
      const store = await open();
      const ids = Array.from({ length: 20 }, (_, i) => `prod_${String(i).padStart(8, '0')}`);
      await Promise.all(ids.map((id, i) => store.createProducer(producer(id, 1_000 + i))));
      const outcomes = await Promise.allSettled([
        store.createJobType(jobType(ids[0] as string, 'same')),
        store.createJobType({ ...jobType(ids[0] as string, 'same'), maxRetries: 1 }),
        store.createJobType(jobType(ids[1] as string, 'other')),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const refused = outcomes[1] as PromiseRejectedResult;
      expect(isJackError(refused.reason, 'already_exists')).toBe(true);

      const fresh = await open();
      expect(fresh.listProducers().map((p) => p.producerId)).toEqual(ids);
      expect(fresh.getJobType(ids[0] as string, 'same')).toEqual(jobType(ids[0] as string, 'same'));
      expect(fresh.getJobType(ids[1] as string, 'other')).toBeDefined();
    });

    it('keeps its data for a store opened later', async () => {
      const a = await open();
      await a.createProducer(producer('prod_aaaaaaaa', 1_000));
      await a.createJobType(jobType('prod_aaaaaaaa', 'send'));
      await a.close();
      const later = await open();
      expect(later.listProducers()).toEqual([producer('prod_aaaaaaaa', 1_000)]);
      expect(later.listJobTypes('prod_aaaaaaaa')).toEqual([jobType('prod_aaaaaaaa', 'send')]);
    });

    it('can be closed twice', async () => {
      const store = await open();
      await store.close();
      await expect(store.close()).resolves.toBeUndefined();
    });
  });
}
