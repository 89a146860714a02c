import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isJackError, JackError, toError } from '../errors.js';
import { JobType as JobTypeMessage } from '../gen/jack/storage.js';
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

/** A change waiting for the next conditional write of its object. */
interface PendingChange<T> {
  /** The new list, undefined when nothing needs writing; throws to refuse. */
  change: (records: readonly T[]) => T[] | undefined;
  resolve: () => void;
  reject: (err: unknown) => void;
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
const sameJobType = (a: JobType, b: JobType) =>
  JSON.stringify(JobTypeMessage.toJSON(a)) === JSON.stringify(JobTypeMessage.toJSON(b));
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
   * Group commit of one object's changes. Changes submitted while a write is
   * in flight wait and then go out together in one conditional write, so a
   * burst of creates costs a few writes, and a replica that lost a race
   * retries all its pending changes at once instead of being starved by a
   * busier one. The first attempt trusts the snapshot (no read); a
   * precondition failure means another replica wrote, so the object is
   * re-read and every change re-applied, with a jittered back-off, at most
   * `maxAttempts` times before the callers get `aborted`.
   */
  const settle = <T>(batch: readonly PendingChange<T>[], err?: unknown) => {
    for (const item of batch) {
      if (err === undefined) item.resolve();
      else item.reject(err);
    }
  };

  const createWriter = <T>(
    name: StoreObjectName,
    current: () => { generation: string; records: readonly T[] },
    read: () => Promise<{ generation: string; records: readonly T[] }>,
    encode: (records: readonly T[]) => string,
    install: (generation: string, records: readonly T[]) => void,
  ) => {
    let pending: PendingChange<T>[] = [];
    let running: Promise<void> | undefined;

    const commit = async (batch: PendingChange<T>[]) => {
      let base = current();
      for (let attempt = 1; ; attempt++) {
        // Re-apply every change to the freshest list; a change that no longer
        // applies (a duplicate created meanwhile) fails alone.
        let records = base.records;
        let changed = false;
        const applied: PendingChange<T>[] = [];
        for (const item of batch) {
          try {
            const next = item.change(records);
            if (next !== undefined) {
              records = next;
              changed = true;
            }
            applied.push(item);
          } catch (err) {
            item.reject(err);
          }
        }
        batch = applied;
        if (!changed) return settle(batch);
        try {
          const generation = await io.write(name, encode(records), base.generation);
          install(generation, records);
          return settle(batch);
        } catch (err) {
          if (!isJackError(err, 'aborted')) return settle(batch, err);
          if (attempt >= maxAttempts) {
            return settle(
              batch,
              new JackError(
                'aborted',
                `${name} changed concurrently ${maxAttempts} times in a row; the write was not applied, retry`,
                { cause: err },
              ),
            );
          }
          logger.debug({ object: name, attempt }, 'config store write conflict; re-reading');
          await sleep(Math.random() * maxBackoffMs * Math.min(attempt, 4) * 0.25);
          try {
            base = await read();
          } catch (readError) {
            return settle(batch, readError);
          }
          install(base.generation, base.records);
        }
      }
    };

    const drain = async () => {
      // Let the rest of a synchronous burst join the first batch.
      await Promise.resolve();
      while (pending.length > 0) {
        const batch = pending;
        pending = [];
        // commit settles its batch itself; this only guards against a bug
        // leaving callers waiting forever.
        await commit(batch).catch((err: unknown) => settle(batch, err));
      }
      running = undefined;
    };

    return {
      submit(change: (records: readonly T[]) => T[] | undefined): Promise<void> {
        return new Promise<void>((resolve, reject) => {
          pending.push({ change, resolve, reject });
          running ??= drain();
        });
      },
      /** Resolves when every submitted change is settled. */
      idle: () => running ?? Promise.resolve(),
    };
  };

  const installProducers = (generation: string, records: readonly Producer[]) => {
    const s = snapshot;
    snapshot = buildSnapshot(generation, records, s.jobTypesGeneration, s.jobTypes);
  };
  const installJobTypes = (generation: string, records: readonly JobType[]) => {
    const s = snapshot;
    snapshot = buildSnapshot(s.producersGeneration, s.producers, generation, records);
  };
  const producersWriter = createWriter(
    'producers.json',
    () => ({ generation: snapshot.producersGeneration, records: snapshot.producers }),
    () => readProducers(),
    encodeProducers,
    installProducers,
  );
  const jobTypesWriter = createWriter(
    'job_types.json',
    () => ({ generation: snapshot.jobTypesGeneration, records: snapshot.jobTypes }),
    () => readJobTypes(),
    encodeJobTypes,
    installJobTypes,
  );

  await refresh();
  // A refresh slower than the interval (a store timing out) skips ticks
  // instead of piling up concurrent reads.
  let refreshing = false;
  const timer =
    refreshIntervalMs > 0
      ? setInterval(() => {
          if (refreshing || closed) return;
          refreshing = true;
          refresh()
            .catch((err: unknown) => {
              logger.warn(
                { err, store: io.kind },
                'config store refresh failed; serving the last snapshot',
              );
            })
            .finally(() => {
              refreshing = false;
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
      await producersWriter.submit((records) => {
        // A retried write must not add the producer twice.
        if (records.some((p) => p.producerId === producer.producerId)) return undefined;
        return [...records, producer];
      });
      return producer;
    },

    async createJobType(jobType) {
      if (snapshot.producerById.get(jobType.producerId) === undefined) {
        // Another replica may have created the producer since our last refresh.
        const before = snapshot;
        const fresh = await readProducers();
        // Install only if nothing newer (a write of ours) landed meanwhile.
        if (snapshot === before) installProducers(fresh.generation, fresh.records);
        if (!fresh.records.some((p) => p.producerId === jobType.producerId)) {
          throw new JackError('not_found', `producer not found: ${jobType.producerId}`);
        }
      }
      await jobTypesWriter.submit((records) => {
        const existing = records.find(
          (t) => t.producerId === jobType.producerId && t.name === jobType.name,
        );
        if (existing !== undefined) {
          // Our own attempt whose answer was lost (same record, same created_at) is a success.
          if (sameJobType(existing, jobType)) return undefined;
          throw new JackError(
            'already_exists',
            `job type already exists: ${jobType.name} (producer: ${jobType.producerId})`,
          );
        }
        return [...records, jobType];
      });
      return jobType;
    },

    refresh,
    lastRefreshError: () => refreshError,
    async close() {
      if (closed) return;
      closed = true;
      if (timer !== undefined) clearInterval(timer);
      await Promise.all([producersWriter.idle(), jobTypesWriter.idle()]);
      await io.close();
    },
  };
}
