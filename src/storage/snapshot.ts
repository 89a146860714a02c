import {
  decodeApiKeys,
  decodeJobTypes,
  decodeProducers,
  encodeApiKeys,
  encodeJobTypes,
  encodeProducers,
} from './codec.js';
import type { Versioned } from './group-commit.js';
import {
  ABSENT_GENERATION,
  type ApiKey,
  type JobType,
  type Producer,
  type StoredApiKey,
  type StoreObjectName,
} from './store.js';

/** The stored lists as read or written, one version per object. */
export interface StoredLists {
  readonly producers: Versioned<Producer>;
  readonly jobTypes: Versioned<JobType>;
  readonly apiKeys: Versioned<StoredApiKey>;
}

/** What the store's synchronous reads answer from, built once per change of the lists. */
export interface Snapshot {
  readonly lists: StoredLists;
  readonly producers: readonly Producer[];
  readonly producerById: ReadonlyMap<string, Producer>;
  /** producer id → job type name → job type: two lookups of the caller's own strings, no key built per job. */
  readonly jobTypeByName: ReadonlyMap<string, ReadonlyMap<string, JobType>>;
  readonly jobTypesByProducer: ReadonlyMap<string, readonly JobType[]>;
  readonly apiKeyById: ReadonlyMap<string, StoredApiKey>;
  readonly apiKeys: readonly ApiKey[];
  readonly apiKeysByProducer: ReadonlyMap<string, readonly ApiKey[]>;
}

export type ListKey = keyof StoredLists;
export type RecordOf<K extends ListKey> = StoredLists[K] extends Versioned<infer T> ? T : never;

/** Each list's object and its codec. */
export const OBJECTS: {
  [K in ListKey]: {
    name: StoreObjectName;
    decode: (text: string | undefined) => RecordOf<K>[];
    encode: (records: readonly RecordOf<K>[]) => string;
  };
} = {
  producers: { name: 'producers.json', decode: decodeProducers, encode: encodeProducers },
  jobTypes: { name: 'job_types.json', decode: decodeJobTypes, encode: encodeJobTypes },
  apiKeys: { name: 'api_keys.json', decode: decodeApiKeys, encode: encodeApiKeys },
};
export const LIST_KEYS = Object.keys(OBJECTS) as ListKey[];

const empty = <T>(): Versioned<T> => ({ generation: ABSENT_GENERATION, records: [] });
export const EMPTY_LISTS: StoredLists = {
  producers: empty(),
  jobTypes: empty(),
  apiKeys: empty(),
};

const millis = (d: Date | undefined) => d?.getTime() ?? 0;
const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function push<K, V>(map: Map<K, V[]>, key: K, value: V) {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** The registered job type `name` of `producerId` in a snapshot, if any. */
export function jobTypeOf(
  snapshot: Snapshot,
  producerId: string,
  name: string,
): JobType | undefined {
  return snapshot.jobTypeByName.get(producerId)?.get(name);
}

/**
 * Builds the read views. A job type or API key whose producer is not in
 * producers.json is left out: that is what a producer delete interrupted
 * between its writes leaves behind (see Store), and it must neither route
 * jobs nor authenticate. The stored lists keep such records untouched: a
 * replica's producers view may simply be older than its job types view.
 */
export function buildSnapshot(lists: StoredLists): Snapshot {
  const producers = [...lists.producers.records].sort(
    (a, b) => millis(a.createdAt) - millis(b.createdAt) || byString(a.producerId, b.producerId),
  );
  const producerById = new Map(producers.map((p) => [p.producerId, p]));

  const jobTypeByName = new Map<string, Map<string, JobType>>();
  const jobTypesByProducer = new Map<string, JobType[]>();
  for (const jobType of lists.jobTypes.records) {
    if (!producerById.has(jobType.producerId)) continue;
    let byName = jobTypeByName.get(jobType.producerId);
    if (byName === undefined) {
      byName = new Map();
      jobTypeByName.set(jobType.producerId, byName);
    }
    byName.set(jobType.name, jobType);
    push(jobTypesByProducer, jobType.producerId, jobType);
  }
  for (const list of jobTypesByProducer.values()) list.sort((a, b) => byString(a.name, b.name));

  const apiKeyById = new Map<string, StoredApiKey>();
  const apiKeys: ApiKey[] = [];
  for (const stored of lists.apiKeys.records) {
    const key = stored.key;
    if (key === undefined) continue;
    if (key.producerId !== '' && !producerById.has(key.producerId)) continue;
    apiKeyById.set(key.keyId, stored);
    apiKeys.push(key);
  }
  apiKeys.sort((a, b) => millis(a.createdAt) - millis(b.createdAt) || byString(a.keyId, b.keyId));
  const apiKeysByProducer = new Map<string, ApiKey[]>();
  for (const key of apiKeys) push(apiKeysByProducer, key.producerId, key);

  return {
    lists,
    producers,
    producerById,
    jobTypeByName,
    jobTypesByProducer,
    apiKeyById,
    apiKeys,
    apiKeysByProducer,
  };
}
