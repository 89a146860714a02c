import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isJackError, JackError, toError } from '../errors.js';
import { decodeJobTypes, decodeProducers, encodeJobTypes, encodeProducers } from './codec.js';
import {
  ABSENT_GENERATION,
  type JobType,
  type ObjectIO,
  type Producer,
  type Store,
  type StoreObjectName,
} from './store.js';

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

interface Snapshot {
  producersGeneration: string;
  jobTypesGeneration: string;
  producers: readonly Producer[];
  jobTypes: readonly JobType[];
  producerById: ReadonlyMap<string, Producer>;
  jobTypeByKey: ReadonlyMap<string, JobType>;
  jobTypesByProducer: ReadonlyMap<string, readonly JobType[]>;
}

const key = (producerId: string, name: string) => `${producerId}\u0000${name}`;
const millis = (d: Date | undefined) => d?.getTime() ?? 0;

function buildSnapshot(
  producersGeneration: string,
  producers: readonly Producer[],
  jobTypesGeneration: string,
  jobTypes: readonly JobType[],
): Snapshot {
  const sortedProducers = [...producers].sort(
    (a, b) =>
      millis(a.createdAt) - millis(b.createdAt) ||
      (a.producerId < b.producerId ? -1 : a.producerId > b.producerId ? 1 : 0),
  );
  const byProducer = new Map<string, JobType[]>();
  const jobTypeByKey = new Map<string, JobType>();
  for (const jobType of jobTypes) {
    jobTypeByKey.set(key(jobType.producerId, jobType.name), jobType);
    const list = byProducer.get(jobType.producerId) ?? [];
    list.push(jobType);
    byProducer.set(jobType.producerId, list);
  }
  for (const list of byProducer.values())
    list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    producersGeneration,
    jobTypesGeneration,
    producers: sortedProducers,
    jobTypes,
    producerById: new Map(sortedProducers.map((p) => [p.producerId, p])),
    jobTypeByKey,
    jobTypesByProducer: byProducer,
  };
}

/**
 * The Store built on raw object access: one in-memory snapshot swapped
 * atomically, conditional writes with re-read and retry on conflict, and a
 * periodic refresh. Every medium (memory, local, gcs) shares this logic.
 */
export async function createCachedStore(io: ObjectIO, options: CachedStoreOptions): Promise<Store> {
  const { logger, refreshIntervalMs } = options;
  const maxAttempts = options.maxWriteAttempts ?? 8;
  const maxBackoffMs = options.maxBackoffMs ?? 200;
  let snapshot = buildSnapshot(ABSENT_GENERATION, [], ABSENT_GENERATION, []);
  let refreshError: Error | undefined;
  let closed = false;
  // Writes of this replica to one object run one at a time, so they do not
  // race each other; races with other replicas are handled by preconditions.
  const writeQueues = new Map<StoreObjectName, Promise<unknown>>();

  const serialised = <T>(name: StoreObjectName, fn: () => Promise<T>): Promise<T> => {
    const previous = writeQueues.get(name) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    writeQueues.set(
      name,
      next.catch(() => {}),
    );
    return next;
  };

  const readProducers = async (known?: string) => {
    const object = await io.read('producers.json', known);
    if (object.unchanged) return { generation: object.generation, records: snapshot.producers };
    return { generation: object.generation, records: decodeProducers(object.text) };
  };
  const readJobTypes = async (known?: string) => {
    const object = await io.read('job_types.json', known);
    if (object.unchanged) return { generation: object.generation, records: snapshot.jobTypes };
    return { generation: object.generation, records: decodeJobTypes(object.text) };
  };

  const refresh = async (): Promise<void> => {
    try {
      const base = snapshot;
      const [producers, jobTypes] = await Promise.all([
        readProducers(base.producersGeneration),
        readJobTypes(base.jobTypesGeneration),
      ]);
      // A write of this replica may have landed while we read: keep the newer view.
      if (snapshot === base) {
        snapshot = buildSnapshot(
          producers.generation,
          producers.records,
          jobTypes.generation,
          jobTypes.records,
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

  /**
   * Applies `change` to the freshest list and writes it conditionally. The
   * first attempt trusts the snapshot (no read); a precondition failure means
   * another replica wrote, so the object is re-read and the change re-applied.
   */
  const mutate = async <T>(
    name: StoreObjectName,
    current: () => { generation: string; records: readonly T[] },
    read: (known?: string) => Promise<{ generation: string; records: readonly T[] }>,
    change: (records: readonly T[]) => T[],
    encode: (records: readonly T[]) => string,
    install: (generation: string, records: readonly T[]) => void,
  ): Promise<void> =>
    serialised(name, async () => {
      let base = current();
      for (let attempt = 1; ; attempt++) {
        const records = change(base.records);
        try {
          const generation = await io.write(name, encode(records), base.generation);
          install(generation, records);
          return;
        } catch (err) {
          if (!isJackError(err, 'aborted')) throw err;
          if (attempt >= maxAttempts) {
            throw new JackError(
              'aborted',
              `${name} changed concurrently ${maxAttempts} times in a row; the write was not applied, retry`,
              { cause: err },
            );
          }
          logger.debug({ object: name, attempt }, 'config store write conflict; re-reading');
          await sleep(Math.random() * maxBackoffMs * Math.min(attempt, 4) * 0.25);
          base = await read();
          install(base.generation, base.records);
        }
      }
    });

  const installProducers = (generation: string, records: readonly Producer[]) => {
    const s = snapshot;
    snapshot = buildSnapshot(generation, records, s.jobTypesGeneration, s.jobTypes);
  };
  const installJobTypes = (generation: string, records: readonly JobType[]) => {
    const s = snapshot;
    snapshot = buildSnapshot(s.producersGeneration, s.producers, generation, records);
  };

  await refresh();
  const timer =
    refreshIntervalMs > 0
      ? setInterval(() => {
          refresh().catch((err: unknown) => {
            logger.warn(
              { err, store: io.kind },
              'config store refresh failed; serving the last snapshot',
            );
          });
        }, refreshIntervalMs)
      : undefined;
  timer?.unref();

  return {
    kind: io.kind,
    location: io.location,
    getProducer: (producerId) => snapshot.producerById.get(producerId),
    getJobType: (producerId, name) => snapshot.jobTypeByKey.get(key(producerId, name)),
    listProducers: () => snapshot.producers,
    listJobTypes: (producerId) => snapshot.jobTypesByProducer.get(producerId) ?? [],

    async createProducer(producer) {
      await mutate(
        'producers.json',
        () => ({ generation: snapshot.producersGeneration, records: snapshot.producers }),
        readProducers,
        (records) => {
          // A retried write must not add the producer twice.
          if (records.some((p) => p.producerId === producer.producerId)) return [...records];
          return [...records, producer];
        },
        encodeProducers,
        installProducers,
      );
      return producer;
    },

    async createJobType(jobType) {
      if (snapshot.producerById.get(jobType.producerId) === undefined) {
        // Another replica may have created the producer since our last refresh.
        const fresh = await readProducers();
        installProducers(fresh.generation, fresh.records);
        if (snapshot.producerById.get(jobType.producerId) === undefined) {
          throw new JackError('not_found', `producer not found: ${jobType.producerId}`);
        }
      }
      await mutate(
        'job_types.json',
        () => ({ generation: snapshot.jobTypesGeneration, records: snapshot.jobTypes }),
        readJobTypes,
        (records) => {
          if (records.some((t) => t.producerId === jobType.producerId && t.name === jobType.name)) {
            throw new JackError(
              'already_exists',
              `job type already exists: ${jobType.name} (producer: ${jobType.producerId})`,
            );
          }
          return [...records, jobType];
        },
        encodeJobTypes,
        installJobTypes,
      );
      return jobType;
    },

    refresh,
    lastRefreshError: () => refreshError,
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      await Promise.allSettled(writeQueues.values());
      await io.close();
    },
  };
}
