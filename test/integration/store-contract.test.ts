/**
 * Runs the store contract against every medium: memory, a local directory
 * and GCS (through the real client against the fake GCS server).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import { createGcsStore } from '../../src/storage/gcs.js';
import { createLocalStore } from '../../src/storage/local.js';
import { createMemoryObjects, createMemoryStore } from '../../src/storage/memory.js';
import type { Store } from '../../src/storage/store.js';
import { describeStoreContract, producer } from '../contract/store.contract.js';
import { startFakeGcs } from '../support/fake-gcs.js';

const logger = pino({ level: 'silent' });

describeStoreContract('memory', async () => {
  const objects = createMemoryObjects();
  return {
    open: () => createMemoryStore({ logger, objects }),
    readRaw: async (name) => (await objects.read(name)).text,
    dispose: async () => {},
  };
});

describeStoreContract('local directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'jack-store-'));
  return {
    open: () => createLocalStore({ dir: join(dir, 'config'), logger, refreshIntervalMs: 0 }),
    readRaw: (name) => readFile(join(dir, 'config', name), 'utf8').catch(() => undefined),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
});

describeStoreContract('gcs (fake server, real client)', async () => {
  const gcs = await startFakeGcs();
  gcs.createBucket('jack-config');
  return {
    open: () =>
      createGcsStore({
        config: { kind: 'gcs', bucket: 'jack-config', prefix: 'env/', apiEndpoint: gcs.endpoint },
        logger,
        refreshIntervalMs: 0,
      }),
    readRaw: async (name) => gcs.getObject('jack-config', `env/${name}`)?.text,
    dispose: () => gcs.close(),
  };
});

describe('local directory store refresh', () => {
  let dir: string;
  let store: Store | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-store-'));
  });
  afterEach(async () => {
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const editByHand = () =>
    Promise.all([
      writeFile(
        join(dir, 'producers.json'),
        JSON.stringify({ producers: [{ producer_id: 'prod_0000beef', name: 'by hand' }] }),
      ),
      writeFile(
        join(dir, 'job_types.json'),
        JSON.stringify({
          jobTypes: [{ producerId: 'prod_0000beef', name: 'edited', queue: 'QUEUE_LOW' }],
        }),
      ),
    ]);

  it('sees an edit on disk after refresh, keeping nothing of the old snapshot', async () => {
    store = await createLocalStore({ dir, logger, refreshIntervalMs: 0 });
    await store.createProducer(producer('prod_aaaaaaaa', 1_000));
    await editByHand();
    expect(store.getProducer('prod_0000beef')).toBeUndefined();
    await store.refresh();
    expect(store.listProducers().map((p) => p.producerId)).toEqual(['prod_0000beef']);
    expect(store.getJobType('prod_0000beef', 'edited')?.queue).toBe(Queue.QUEUE_LOW);
  });

  it('picks the edit up by itself on the refresh interval', async () => {
    store = await createLocalStore({ dir, logger, refreshIntervalMs: 50 });
    await editByHand();
    const deadline = Date.now() + 10_000;
    while (store.getProducer('prod_0000beef') === undefined && Date.now() < deadline) {
      await sleep(20);
    }
    expect(store.getProducer('prod_0000beef')?.name).toBe('by hand');
    expect(store.lastRefreshError()).toBeUndefined();
  });
});
