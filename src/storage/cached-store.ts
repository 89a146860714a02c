import type { Logger } from 'pino';
import { JackError, toError } from '../errors.js';
import {
  apiKeyNotFound,
  appendNew,
  jobTypeNotFound,
  producerNotFound,
  removeAll,
  replaceOne,
  sameApiKey,
  sameJobType,
  sameProducer,
} from './changes.js';
import { createGroupCommit, type Versioned } from './group-commit.js';
import { startRefresher } from './refresher.js';
import {
  buildSnapshot,
  EMPTY_LISTS,
  jobTypeOf,
  LIST_KEYS,
  type ListKey,
  OBJECTS,
  type RecordOf,
  type StoredLists,
} from './snapshot.js';
import type { JobType, ObjectIO, Producer, Store, StoredApiKey } from './store.js';

export interface CachedStoreOptions {
  /** How often the snapshot is re-read; 0 = never (tests call refresh()). */
  refreshIntervalMs: number;
  logger: Logger;
  /** Conditional-write attempts before a write gives up with `aborted`. @default 8 */
  maxWriteAttempts?: number;
  /** Upper bound of the random back-off between attempts, ms. @default 200 */
  maxBackoffMs?: number;
  /** Called after every refresh with its outcome (metrics). */
  onRefresh?: (error: Error | undefined) => void;
}

/**
 * The Store built on raw object access: one in-memory snapshot swapped
 * atomically, conditional group-committed writes with re-read and retry on
 * conflict (group-commit.ts), and a periodic refresh. Every medium (memory,
 * local, gcs) shares this logic; the periodic refresh is in refresher.ts. The order of writes across objects, which
 * settles a delete racing a create, is described on `Store`.
 */
export async function createCachedStore(io: ObjectIO, options: CachedStoreOptions): Promise<Store> {
  const { logger, refreshIntervalMs } = options;
  let snapshot = buildSnapshot(EMPTY_LISTS);
  let refreshError: Error | undefined;
  let closed = false;

  const read = async <K extends ListKey>(k: K, known?: string): Promise<StoredLists[K]> => {
    const object = await io.read(OBJECTS[k].name, known);
    if (object.unchanged) return snapshot.lists[k];
    return { generation: object.generation, records: OBJECTS[k].decode(object.text) } as never;
  };
  const install = <K extends ListKey>(k: K, version: StoredLists[K]) => {
    snapshot = buildSnapshot({ ...snapshot.lists, [k]: version });
  };
  /** A read checked against the medium now; installed unless a write of ours landed meanwhile. */
  const readFresh = async <K extends ListKey>(k: K): Promise<StoredLists[K]> => {
    const before = snapshot.lists[k];
    const fresh = await read(k, before.generation);
    if (snapshot.lists[k] === before && fresh !== before) install(k, fresh);
    return fresh;
  };

  const refresh = async (): Promise<void> => {
    try {
      const base = snapshot;
      const fresh = await Promise.all(LIST_KEYS.map((k) => read(k, base.lists[k].generation)));
      // A write of this replica may have landed while we read: keep the newer view.
      if (snapshot === base) {
        snapshot = buildSnapshot(
          Object.fromEntries(LIST_KEYS.map((k, i) => [k, fresh[i]])) as unknown as StoredLists,
        );
      }
      if (refreshError !== undefined)
        logger.info({ store: io.kind }, 'config store refresh recovered');
      refreshError = undefined;
      options.onRefresh?.(undefined);
    } catch (err) {
      refreshError = toError(err);
      options.onRefresh?.(refreshError);
      throw err;
    }
  };

  const writer = <K extends ListKey>(k: K) =>
    createGroupCommit<RecordOf<K>>({
      name: OBJECTS[k].name,
      current: () => snapshot.lists[k] as Versioned<RecordOf<K>>,
      read: () => read(k) as Promise<Versioned<RecordOf<K>>>,
      write: (text, ifGeneration) => io.write(OBJECTS[k].name, text, ifGeneration),
      encode: OBJECTS[k].encode,
      install: (version) => install(k, version as StoredLists[K]),
      logger,
      ...(options.maxWriteAttempts === undefined ? {} : { maxAttempts: options.maxWriteAttempts }),
      ...(options.maxBackoffMs === undefined ? {} : { maxBackoffMs: options.maxBackoffMs }),
    });
  const writers = { producers: writer('producers'), jobTypes: writer('jobTypes') };
  const apiKeysWriter = writer('apiKeys');

  /** not_found unless the producer exists (re-read when this replica does not know it yet). */
  const requireProducer = async (producerId: string) => {
    if (snapshot.producerById.has(producerId)) return;
    const fresh = await readFresh('producers');
    if (!fresh.records.some((p) => p.producerId === producerId)) {
      throw producerNotFound(producerId);
    }
  };
  /**
   * After writing a record that belongs to a producer: if the producer was
   * deleted meanwhile, take the record back out and fail (see Store).
   */
  const confirmProducer = async (producerId: string, takeBack: () => Promise<void>) => {
    const fresh = await readFresh('producers');
    if (fresh.records.some((p) => p.producerId === producerId)) return;
    await takeBack();
    throw producerNotFound(producerId);
  };

  await refresh();
  const refresher = startRefresher({
    refresh,
    intervalMs: refreshIntervalMs,
    logger,
    kind: io.kind,
  });

  const isJobType = (producerId: string, name: string) => (t: JobType) =>
    t.producerId === producerId && t.name === name;

  return {
    kind: io.kind,
    location: io.location,
    getProducer: (producerId) => snapshot.producerById.get(producerId),
    getJobType: (producerId, name) => jobTypeOf(snapshot, producerId, name),
    listProducers: () => snapshot.producers,
    listJobTypes: (producerId) => snapshot.jobTypesByProducer.get(producerId) ?? [],
    getApiKey: (keyId) => snapshot.apiKeyById.get(keyId),
    listApiKeys: (producerId) =>
      producerId === undefined
        ? snapshot.apiKeys
        : (snapshot.apiKeysByProducer.get(producerId) ?? []),

    async createProducer(producer) {
      await writers.producers.submit(
        appendNew(
          producer,
          (p) => p.producerId === producer.producerId,
          sameProducer,
          () => new JackError('already_exists', `producer already exists: ${producer.producerId}`),
        ),
      );
      return producer;
    },

    async updateProducer(producerId, change) {
      let stored: Producer | undefined;
      await writers.producers.submit(
        replaceOne(
          (p) => p.producerId === producerId,
          () => producerNotFound(producerId),
          change,
          (p) => {
            stored = p;
          },
        ),
        !snapshot.producerById.has(producerId),
      );
      return stored as Producer;
    },

    async deleteProducer(producerId) {
      const mine = (p: Producer) => p.producerId === producerId;
      await writers.producers.submit(
        removeAll(mine, () => producerNotFound(producerId)),
        !snapshot.producerById.has(producerId),
      );
      // The cascade reads afresh: a record written before our producer write
      // is in that read even when this replica's snapshot is older.
      await writers.jobTypes.submit(
        removeAll((t) => t.producerId === producerId),
        true,
      );
      await apiKeysWriter.submit(
        removeAll((k) => k.key?.producerId === producerId),
        true,
      );
    },

    async createJobType(jobType) {
      await requireProducer(jobType.producerId);
      const mine = isJobType(jobType.producerId, jobType.name);
      await writers.jobTypes.submit(
        appendNew(
          jobType,
          mine,
          sameJobType,
          () =>
            new JackError(
              'already_exists',
              `job type already exists: ${jobType.name} (producer: ${jobType.producerId})`,
            ),
        ),
      );
      await confirmProducer(jobType.producerId, () =>
        writers.jobTypes.submit(
          removeAll((t) => mine(t) && sameJobType(t, jobType)),
          true,
        ),
      );
      return jobType;
    },

    async updateJobType(producerId, name, change) {
      let stored: JobType | undefined;
      const notFound = () => jobTypeNotFound(producerId, name);
      // An update must not revive a job type hidden because its producer is gone.
      if (!snapshot.producerById.has(producerId)) await readFresh('producers');
      await writers.jobTypes.submit(
        replaceOne(
          (t) => isJobType(producerId, name)(t) && snapshot.producerById.has(producerId),
          notFound,
          change,
          (t) => {
            stored = t;
          },
        ),
        jobTypeOf(snapshot, producerId, name) === undefined,
      );
      return stored as JobType;
    },

    async deleteJobType(producerId, name) {
      await writers.jobTypes.submit(
        removeAll(isJobType(producerId, name), () => jobTypeNotFound(producerId, name)),
        jobTypeOf(snapshot, producerId, name) === undefined,
      );
    },

    async createApiKey(stored: StoredApiKey) {
      const key = stored.key;
      if (key === undefined || key.keyId === '') {
        throw new JackError('internal', 'an API key to store needs a key id');
      }
      if (key.producerId !== '') await requireProducer(key.producerId);
      const mine = (k: StoredApiKey) => k.key?.keyId === key.keyId;
      await apiKeysWriter.submit(
        appendNew(
          stored,
          mine,
          sameApiKey,
          () => new JackError('already_exists', `API key already exists: ${key.keyId}`),
        ),
      );
      if (key.producerId !== '') {
        await confirmProducer(key.producerId, () =>
          apiKeysWriter.submit(
            removeAll((k) => mine(k) && sameApiKey(k, stored)),
            true,
          ),
        );
      }
      return key;
    },

    async revokeApiKey(keyId) {
      await apiKeysWriter.submit(
        removeAll(
          (k) => k.key?.keyId === keyId,
          () => apiKeyNotFound(keyId),
        ),
        !snapshot.apiKeyById.has(keyId),
      );
    },

    refresh,
    lastRefreshError: () => refreshError,
    async close() {
      if (closed) return;
      closed = true;
      refresher.stop();
      await Promise.all([writers.producers.idle(), writers.jobTypes.idle(), apiKeysWriter.idle()]);
      await io.close();
    },
  };
}
