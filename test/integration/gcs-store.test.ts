/**
 * The GCS config store through the real @google-cloud/storage client against
 * the fake GCS server: concurrent replicas, foreign file formats, cheap
 * refresh, outages and startup failures.
 */
import { type AddressInfo, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ErrorCode, isJackError } from '../../src/errors.js';
import { Queue } from '../../src/gen/jack/storage.js';
import { createGcsStore } from '../../src/storage/gcs.js';
import type { Store } from '../../src/storage/store.js';
import { jobType, producer } from '../contract/store.contract.js';
import { type FakeGcs, startFakeGcs } from '../support/fake-gcs.js';

const BUCKET = 'jack-config';
const PREFIX = 'prod/';
const logger = pino({ level: 'silent' });

async function rejection(
  promise: Promise<unknown>,
): Promise<{ code: ErrorCode; message: string; detail?: string }> {
  try {
    await promise;
  } catch (err) {
    if (!isJackError(err)) throw err;
    // The operator's detail (bucket, object, HTTP status) is the cause (SPEC §6).
    if (isJackError(err.cause))
      return { code: err.code, message: err.message, detail: err.cause.message };
    return { code: err.code, message: err.message };
  }
  throw new Error('expected a rejection, but it resolved');
}

describe('gcs store', () => {
  let gcs: FakeGcs;
  let stores: Store[];
  const open = async (bucket = BUCKET) => {
    const store = await createGcsStore({
      config: { kind: 'gcs', bucket, prefix: PREFIX, apiEndpoint: gcs.endpoint },
      logger,
      refreshIntervalMs: 0,
    });
    stores.push(store);
    return store;
  };
  const storedJson = (name: string) => {
    const object = gcs.getObject(BUCKET, `${PREFIX}${name}`);
    if (object === undefined) throw new Error(`${name} was not written`);
    return JSON.parse(object.text) as Record<string, Array<Record<string, unknown>>>;
  };

  beforeEach(async () => {
    gcs = await startFakeGcs();
    gcs.createBucket(BUCKET);
    stores = [];
  });
  afterEach(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await gcs.close();
  });

  it('two replicas creating 50 producers and then 50 job types each lose nothing', async () => {
    const [a, b] = [await open(), await open()];
    // Staggered starts make the two replicas' writes interleave in many rounds.
    const stagger = async <T>(fn: () => Promise<T>) => {
      await sleep(Math.random() * 40);
      return fn();
    };
    const idsOf = (replica: string) =>
      Array.from({ length: 50 }, (_, i) => `prod_${replica}${String(i).padStart(7, '0')}`);
    const aIds = idsOf('a');
    const bIds = idsOf('b');
    await Promise.all([
      ...aIds.map((id, i) => stagger(() => a.createProducer(producer(id, 1_000 + i)))),
      ...bIds.map((id, i) => stagger(() => b.createProducer(producer(id, 1_000 + i)))),
    ]);
    // Each replica names job types of the other's producers, which it has not
    // refreshed yet: it must find them in the bucket, not answer not_found.
    await Promise.all([
      ...bIds.map((id) => stagger(() => a.createJobType(jobType(id, 'made_by_a')))),
      ...aIds.map((id) => stagger(() => b.createJobType(jobType(id, 'made_by_b')))),
    ]);
    await Promise.all([a.refresh(), b.refresh()]);

    const allIds = [...aIds, ...bIds].sort();
    for (const store of [a, b]) {
      expect(
        store
          .listProducers()
          .map((p) => p.producerId)
          .sort(),
      ).toEqual(allIds);
      for (const id of bIds) expect(store.getJobType(id, 'made_by_a')).toBeDefined();
      for (const id of aIds) expect(store.getJobType(id, 'made_by_b')).toBeDefined();
    }
    expect(storedJson('producers.json').producers).toHaveLength(100);
    expect(storedJson('job_types.json').jobTypes).toHaveLength(100);
    // Both replicas started from "does not exist": at least one write lost a race.
    expect(gcs.requests.some((r) => r.kind === 'upload' && r.status === 412)).toBe(true);
  });

  it('writes with ifGenerationMatch=0 into an empty bucket and camelCase protobuf-JSON', async () => {
    const store = await open();
    await store.createProducer(producer('prod_aaaaaaaa', Date.parse('2026-01-02T03:04:05.678Z')));
    await store.createJobType(jobType('prod_aaaaaaaa', 'send_email', Queue.QUEUE_IMMEDIATE));
    expect(storedJson('producers.json')).toEqual({
      producers: [
        {
          producerId: 'prod_aaaaaaaa',
          name: 'prod_aaaaaaaa',
          description: 'prod_aaaaaaaa description',
          rateLimitRps: 1000,
          createdAt: '2026-01-02T03:04:05.678Z',
          updatedAt: '2026-01-02T03:04:05.678Z',
        },
      ],
    });
    expect(storedJson('job_types.json').jobTypes?.[0]).toMatchObject({
      producerId: 'prod_aaaaaaaa',
      name: 'send_email',
      queue: 'QUEUE_IMMEDIATE',
      maxRetries: 5,
    });
    // Nothing was written outside the prefix.
    expect(gcs.getObject(BUCKET, 'producers.json')).toBeUndefined();
  });

  it('loads objects written by another implementation (snake_case, enums as names and numbers)', async () => {
    gcs.putObject(
      BUCKET,
      `${PREFIX}producers.json`,
      JSON.stringify({
        producers: [
          {
            producer_id: 'prod_00000001',
            name: 'billing',
            rate_limit_rps: 50,
            created_at: '2025-05-01T00:00:00Z',
          },
          { producerId: 'prod_00000002', name: 'search', createdAt: '2025-06-01T00:00:00Z' },
        ],
      }),
    );
    gcs.putObject(
      BUCKET,
      `${PREFIX}job_types.json`,
      JSON.stringify({
        job_types: [
          { producer_id: 'prod_00000001', name: 'invoice', queue: 'QUEUE_LOW', max_retries: 7 },
          { producer_id: 'prod_00000001', name: 'refund', queue: 1 },
          { producerId: 'prod_00000002', name: 'reindex', queue: 2, maxRetries: 4 },
        ],
      }),
    );
    const store = await open();
    expect(store.getProducer('prod_00000001')).toMatchObject({ name: 'billing', rateLimitRps: 50 });
    expect(store.listProducers().map((p) => p.producerId)).toEqual([
      'prod_00000001',
      'prod_00000002',
    ]);
    expect(store.getJobType('prod_00000001', 'invoice')).toMatchObject({
      queue: Queue.QUEUE_LOW,
      maxRetries: 7,
    });
    expect(store.getJobType('prod_00000001', 'refund')?.queue).toBe(Queue.QUEUE_IMMEDIATE);
    expect(store.getJobType('prod_00000002', 'reindex')).toMatchObject({
      queue: Queue.QUEUE_HIGH,
      maxRetries: 4,
    });
    // A write keeps the foreign records and rewrites the file in camelCase.
    await store.createJobType(jobType('prod_00000002', 'new_one'));
    const written = storedJson('job_types.json');
    expect(written.jobTypes?.map((t) => t.name).sort()).toEqual([
      'invoice',
      'new_one',
      'refund',
      'reindex',
    ]);
    expect(written.job_types).toBeUndefined();
  });

  it('refresh costs one metadata call per unchanged object and downloads only what changed', async () => {
    const a = await open();
    const b = await open();
    await a.createProducer(producer('prod_aaaaaaaa', 1_000));
    await b.refresh();

    let before = gcs.requests.length;
    await b.refresh();
    expect(gcs.requests.slice(before).map((r) => `${r.kind} ${r.object}`)).toEqual(
      expect.arrayContaining([
        `metadata ${PREFIX}producers.json`,
        `metadata ${PREFIX}job_types.json`,
      ]),
    );
    expect(gcs.requests.slice(before).every((r) => r.kind === 'metadata')).toBe(true);

    await a.createProducer(producer('prod_bbbbbbbb', 2_000));
    before = gcs.requests.length;
    await b.refresh();
    const downloads = gcs.requests.slice(before).filter((r) => r.kind === 'download');
    expect(downloads.map((r) => r.object)).toEqual([`${PREFIX}producers.json`]);
    expect(b.getProducer('prod_bbbbbbbb')).toBeDefined();
  });

  it('an own write whose answer was lost is a success, not a duplicate', async () => {
    const store = await open();
    await store.createProducer(producer('prod_aaaaaaaa', 1_000));
    gcs.loseNextUploadAnswer();
    // The client retries the upload with the same precondition, gets 412, and
    // the store re-reads and finds its own record.
    await expect(store.createJobType(jobType('prod_aaaaaaaa', 'send'))).resolves.toBeDefined();
    expect(storedJson('job_types.json').jobTypes).toHaveLength(1);
    expect(store.getJobType('prod_aaaaaaaa', 'send')).toBeDefined();
  });

  it('keeps serving the last snapshot through an outage and recovers without a restart', async () => {
    const store = await open();
    await store.createProducer(producer('prod_aaaaaaaa', 1_000));
    await store.createJobType(jobType('prod_aaaaaaaa', 'send'));

    gcs.failAll(503);
    const write = await rejection(store.createProducer(producer('prod_bbbbbbbb', 2_000)));
    expect(write.code).toBe('unavailable');
    // The client's words say what failed; the status is in the operator's cause.
    expect(write.message).toBe('the config store cannot write producers.json');
    expect(write.detail).toContain('503');
    const refresh = await rejection(store.refresh());
    expect(refresh.code).toBe('unavailable');
    expect(store.lastRefreshError()?.message).toBe(refresh.message);
    // Reads still come from the last good snapshot.
    expect(store.getProducer('prod_aaaaaaaa')).toBeDefined();
    expect(store.getJobType('prod_aaaaaaaa', 'send')).toBeDefined();
    expect(store.getProducer('prod_bbbbbbbb')).toBeUndefined();

    gcs.heal();
    await store.refresh();
    expect(store.lastRefreshError()).toBeUndefined();
    await store.createProducer(producer('prod_bbbbbbbb', 2_000));
    expect(storedJson('producers.json').producers).toHaveLength(2);
  });

  it('rides over a few transient 503s and some latency', async () => {
    const store = await open();
    gcs.setLatency(20);
    gcs.failNext(1, 503);
    await store.createProducer(producer('prod_aaaaaaaa', 1_000));
    gcs.failNext(1, 503);
    await store.refresh();
    expect(store.lastRefreshError()).toBeUndefined();
    expect(storedJson('producers.json').producers).toHaveLength(1);
  });

  it('a corrupt object fails the refresh with internal and keeps the last snapshot', async () => {
    const store = await open();
    await store.createProducer(producer('prod_aaaaaaaa', 1_000));
    gcs.putObject(BUCKET, `${PREFIX}producers.json`, '{"producers": [');
    const err = await rejection(store.refresh());
    expect(err.code).toBe('internal');
    expect(err.message).toContain('producers.json is not valid JSON');
    expect(store.getProducer('prod_aaaaaaaa')).toBeDefined();
  });

  describe('startup', () => {
    it('fails when the bucket does not exist', async () => {
      const err = await rejection(open('no-such-bucket'));
      expect(err).toEqual({
        code: 'failed_precondition',
        message: 'GCS bucket no-such-bucket does not exist',
      });
    });

    it('fails with a permission message when access is refused', async () => {
      gcs.failAll(403);
      const err = await rejection(open());
      expect(err.code).toBe('unavailable');
      // The client's words name no bucket; the cause has what the operator needs.
      expect(err.message).toMatch(/^the config store cannot read (producers|job_types)\.json$/);
      expect(err.detail).toMatch(
        /^cannot read gs:\/\/jack-config\/prod\/(producers|job_types)\.json: permission denied \(HTTP 403\)/,
      );
      expect(err.detail).not.toContain('\n');
    });

    it('fails when the service cannot be reached', async () => {
      // A listener that drops every connection: a port that is merely closed
      // could be taken by another test's server meanwhile.
      const dropping = createServer((socket) => socket.destroy());
      await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
      const { port } = dropping.address() as AddressInfo;
      try {
        const err = await rejection(
          createGcsStore({
            config: {
              kind: 'gcs',
              bucket: BUCKET,
              prefix: '',
              apiEndpoint: `http://127.0.0.1:${port}`,
            },
            logger,
            refreshIntervalMs: 0,
          }),
        );
        expect(err.code).toBe('unavailable');
        expect(err.message).toBe('the config store cannot reach its bucket');
        expect(err.detail).toContain(`cannot open bucket gs://${BUCKET}/`);
        expect(err.detail).not.toContain('\n');
      } finally {
        await new Promise((resolve) => dropping.close(resolve));
      }
    });
  });
});
