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
import type {
  JobType,
  Producer,
  Store,
  StoredApiKey,
  StoreObjectName,
} from '../../src/storage/store.js';

export interface StoreFixture {
  /** Opens one more store (replica) on the fixture's backing. */
  open(): Promise<Store>;
  /** The stored text of an object (what a store's view may hide), undefined when absent. */
  readRaw(name: StoreObjectName): Promise<string | undefined>;
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

export function apiKey(keyId: string, producerId: string, createdAtMs = 1_000): StoredApiKey {
  return {
    key: {
      keyId,
      producerId,
      description: `${keyId} key`,
      createdAt: new Date(createdAtMs),
      role: 0,
    },
    tokenSha256: Buffer.alloc(32, keyId.length),
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

    it('refuses a producer id held by another record, but takes the very same record as its own retry', async () => {
      const store = await open();
      await store.createProducer(producer('prod_aaaaaaaa', 1_000));
      await expect(store.createProducer(producer('prod_aaaaaaaa', 1_000))).resolves.toEqual(
        producer('prod_aaaaaaaa', 1_000),
      );
      const err = await rejection(store.createProducer(producer('prod_aaaaaaaa', 2_000, 'other')));
      expect(isJackError(err, 'already_exists')).toBe(true);
      expect((err as Error).message).toBe('producer already exists: prod_aaaaaaaa');
      expect(store.listProducers()).toEqual([producer('prod_aaaaaaaa', 1_000)]);
    });

    it('updates a producer and a job type, and keeps the update for a store opened later', async () => {
      const store = await open();
      await store.createProducer(producer('prod_aaaaaaaa', 1_000));
      await store.createJobType(jobType('prod_aaaaaaaa', 'send'));
      const updated = await store.updateProducer('prod_aaaaaaaa', (p) => ({
        ...p,
        name: 'renamed',
        principals: ['ops@example.com'],
      }));
      expect(updated).toEqual({
        ...producer('prod_aaaaaaaa', 1_000),
        name: 'renamed',
        principals: ['ops@example.com'],
      });
      const retyped = await store.updateJobType('prod_aaaaaaaa', 'send', (t) => ({
        ...t,
        queue: Queue.QUEUE_LOW,
      }));
      expect(retyped.queue).toBe(Queue.QUEUE_LOW);
      // The writing replica routes by the new queue at once.
      expect(store.getJobType('prod_aaaaaaaa', 'send')?.queue).toBe(Queue.QUEUE_LOW);
      const later = await open();
      expect(later.getProducer('prod_aaaaaaaa')).toEqual(updated);
      expect(later.getJobType('prod_aaaaaaaa', 'send')).toEqual(retyped);
    });

    it('answers an update or delete of an unknown record with not_found naming it', async () => {
      const store = await open();
      await store.createProducer(producer('prod_aaaaaaaa', 1_000));
      const cases: [() => Promise<unknown>, string][] = [
        [
          () => store.updateProducer('prod_99999999', (p) => p),
          'producer not found: prod_99999999',
        ],
        [() => store.deleteProducer('prod_99999999'), 'producer not found: prod_99999999'],
        [
          () => store.updateJobType('prod_aaaaaaaa', 'nope', (t) => t),
          'job type not found: nope (producer: prod_aaaaaaaa)',
        ],
        [
          () => store.deleteJobType('prod_aaaaaaaa', 'nope'),
          'job type not found: nope (producer: prod_aaaaaaaa)',
        ],
        [
          () => store.revokeApiKey('key_0000000000000000'),
          'API key not found: key_0000000000000000',
        ],
        [
          () => store.createApiKey(apiKey('key_1111111111111111', 'prod_99999999')),
          'producer not found: prod_99999999',
        ],
      ];
      for (const [attempt, message] of cases) {
        const err = await rejection(attempt());
        expect(isJackError(err, 'not_found'), message).toBe(true);
        expect((err as Error).message).toBe(message);
      }
    });

    it('keeps both of two replicas’ updates of different fields of one producer', async () => {
      const a = await open();
      const b = await open();
      await a.createProducer(producer('prod_aaaaaaaa', 1_000));
      await b.refresh();
      await a.updateProducer('prod_aaaaaaaa', (p) => ({ ...p, name: 'from a' }));
      // b's snapshot still holds the old record: its write must re-read and re-apply.
      const fromB = await b.updateProducer('prod_aaaaaaaa', (p) => ({ ...p, rateLimitRps: 7 }));
      expect(fromB).toMatchObject({ name: 'from a', rateLimitRps: 7 });
      await a.refresh();
      expect(a.getProducer('prod_aaaaaaaa')).toMatchObject({ name: 'from a', rateLimitRps: 7 });
    });

    it('updates and deletes a record this replica has not seen yet', async () => {
      const a = await open();
      const b = await open();
      await a.createProducer(producer('prod_aaaaaaaa', 1_000));
      await a.createJobType(jobType('prod_aaaaaaaa', 'send'));
      await b.updateJobType('prod_aaaaaaaa', 'send', (t) => ({ ...t, maxRetries: 1 }));
      await b.deleteJobType('prod_aaaaaaaa', 'send');
      await a.refresh();
      expect(a.getJobType('prod_aaaaaaaa', 'send')).toBeUndefined();
    });

    it('deletes a producer with its job types and API keys, leaving others alone', async () => {
      const store = await open();
      await store.createProducer(producer('prod_aaaaaaaa', 1_000));
      await store.createProducer(producer('prod_bbbbbbbb', 2_000));
      await store.createJobType(jobType('prod_aaaaaaaa', 'send'));
      await store.createJobType(jobType('prod_bbbbbbbb', 'keep'));
      await store.createApiKey(apiKey('key_aaaaaaaaaaaaaaaa', 'prod_aaaaaaaa'));
      await store.createApiKey(apiKey('key_bbbbbbbbbbbbbbbb', 'prod_bbbbbbbb'));
      await store.deleteProducer('prod_aaaaaaaa');
      for (const view of [store, await open()]) {
        expect(view.getProducer('prod_aaaaaaaa')).toBeUndefined();
        expect(view.getJobType('prod_aaaaaaaa', 'send')).toBeUndefined();
        expect(view.getApiKey('key_aaaaaaaaaaaaaaaa')).toBeUndefined();
        expect(view.getJobType('prod_bbbbbbbb', 'keep')).toBeDefined();
        expect(view.listApiKeys().map((k) => k.keyId)).toEqual(['key_bbbbbbbbbbbbbbbb']);
      }
      expect(await fixture.readRaw('job_types.json')).not.toContain('prod_aaaaaaaa');
      expect(await fixture.readRaw('api_keys.json')).not.toContain('prod_aaaaaaaa');
    });

    it('stores API keys with their hash, lists them by producer, and revokes them', async () => {
      const store = await open();
      await store.createProducer(producer('prod_aaaaaaaa', 1_000));
      const admin = apiKey('key_0000000000000001', '', 3_000);
      const bound = apiKey('key_0000000000000002', 'prod_aaaaaaaa', 2_000);
      await store.createApiKey(admin);
      await expect(store.createApiKey(bound)).resolves.toEqual(bound.key);
      // The very same record again is our own retry; another record with the id is refused.
      await store.createApiKey(bound);
      const taken = await rejection(
        store.createApiKey({ ...bound, tokenSha256: Buffer.alloc(32, 9) }),
      );
      expect(isJackError(taken, 'already_exists')).toBe(true);
      expect(store.getApiKey('key_0000000000000002')).toEqual(bound);
      expect(store.listApiKeys().map((k) => k.keyId)).toEqual([
        'key_0000000000000002',
        'key_0000000000000001',
      ]);
      expect(store.listApiKeys('prod_aaaaaaaa')).toEqual([bound.key]);
      expect(store.listApiKeys('')).toEqual([admin.key]);
      const later = await open();
      expect(later.getApiKey('key_0000000000000001')).toEqual(admin);
      await later.revokeApiKey('key_0000000000000001');
      expect(later.getApiKey('key_0000000000000001')).toBeUndefined();
      await store.refresh();
      expect(store.listApiKeys()).toEqual([bound.key]);
    });

    it('resolves a producer delete racing creates under it one way: nothing of the producer is left', async () => {
      const a = await open();
      const b = await open();
      for (let round = 0; round < 4; round++) {
        const id = `prod_0000000${round}`;
        await a.createProducer(producer(id, 1_000 + round));
        await b.refresh();
        const [deleted, created, keyed] = await Promise.allSettled([
          a.deleteProducer(id),
          b.createJobType(jobType(id, 'racing')),
          b.createApiKey(apiKey(`key_000000000000000${round}`, id)),
        ]);
        expect(deleted.status).toBe('fulfilled');
        for (const outcome of [created, keyed]) {
          // Either it happened before the delete (and was cascaded) or it was refused.
          if (outcome.status === 'rejected') {
            expect(isJackError(outcome.reason, 'not_found')).toBe(true);
          }
        }
        for (const view of [a, b, await open()]) {
          await view.refresh();
          expect(view.getProducer(id)).toBeUndefined();
          expect(view.getJobType(id, 'racing')).toBeUndefined();
          expect(view.listApiKeys(id)).toEqual([]);
        }
        expect((await fixture.readRaw('job_types.json')) ?? '').not.toContain(id);
        expect((await fixture.readRaw('api_keys.json')) ?? '').not.toContain(id);
      }
    });

    it('refuses a create on a replica that has not seen the producer’s delete, leaving nothing behind', async () => {
      const a = await open();
      const b = await open();
      await a.createProducer(producer('prod_aaaaaaaa', 1_000));
      await b.refresh();
      await a.deleteProducer('prod_aaaaaaaa');
      // b still believes in the producer: its write lands, then the re-check takes it back.
      const created = await rejection(b.createJobType(jobType('prod_aaaaaaaa', 'late')));
      expect((created as Error).message).toBe('producer not found: prod_aaaaaaaa');
      const keyed = await rejection(
        b.createApiKey(apiKey('key_aaaaaaaaaaaaaaaa', 'prod_aaaaaaaa')),
      );
      expect(isJackError(keyed, 'not_found')).toBe(true);
      expect(b.getJobType('prod_aaaaaaaa', 'late')).toBeUndefined();
      expect((await fixture.readRaw('job_types.json')) ?? '').not.toContain('prod_aaaaaaaa');
      expect((await fixture.readRaw('api_keys.json')) ?? '').not.toContain('prod_aaaaaaaa');
    });

    it('can be closed twice', async () => {
      const store = await open();
      await store.close();
      await expect(store.close()).resolves.toBeUndefined();
    });
  });
}
