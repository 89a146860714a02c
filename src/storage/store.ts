import type { ApiKey, JobType, Producer, StoredApiKey } from '../gen/jack/storage.js';

export type { ApiKey, JobType, Producer, StoredApiKey };

/**
 * Holds producers and job types. Reads are synchronous and come from an
 * in-memory snapshot (the enqueue hot path never waits on I/O); writes go
 * through to the backing objects and then update the snapshot.
 *
 * Errors are `JackError`s: `unavailable` when the backing store cannot be
 * reached, `aborted` when a write kept losing races with other replicas after
 * its retries, `internal` for corrupt stored data.
 *
 * Three objects, one conditional write each, no transaction across them.
 * The rule that keeps a delete racing a create from being half-applied:
 * - `deleteProducer` removes the producer from producers.json first (that
 *   write is the delete's one linearisation point), then its job types, then
 *   its API keys, each with a conditional write on fresh data.
 * - A job type or API key is written first and its producer re-read from
 *   producers.json afterwards; if the producer is gone by then, the create
 *   takes its record back out and fails `not_found`. If the producer was
 *   still there, the delete's own cascade (which starts after its producer
 *   write, hence after our write) removes the record.
 * - Readers never see a record whose producer is absent (the snapshot drops
 *   such orphans), so even a replica killed between the steps leaves no
 *   job type routing and no key authenticating for a deleted producer.
 *
 * @remarks Deliberately not part of this contract: any notion of who may
 * write (admission control sits in front of the handlers).
 */
export interface Store {
  /** `memory`, `local` or `gcs`: for logs. */
  readonly kind: string;
  /** Where the data lives (directory, bucket/prefix): for logs. */
  readonly location: string;
  /** The producer with this id in the snapshot, or undefined. */
  getProducer(producerId: string): Producer | undefined;
  /** The job type (producer, name) in the snapshot, or undefined. */
  getJobType(producerId: string, name: string): JobType | undefined;
  /** Every producer, ordered by created_at, then producer_id. */
  listProducers(): readonly Producer[];
  /** One producer's job types ordered by name; empty for an unknown producer. */
  listJobTypes(producerId: string): readonly JobType[];
  /** The API key with this id in the snapshot (with its token hash), or undefined. */
  getApiKey(keyId: string): StoredApiKey | undefined;
  /** API keys (never their hashes) ordered by created_at, then key_id; one producer's when given. */
  listApiKeys(producerId?: string): readonly ApiKey[];
  /**
   * Adds a producer (its id is already chosen). Resolves once stored; a lost
   * race with another replica is re-read and retried, never dropped. Throws
   * `already_exists` when another record holds the id (a retry of our own
   * write, the very same record, is a success).
   */
  createProducer(producer: Producer): Promise<Producer>;
  /**
   * Replaces a producer with `change(current)`, applied to the freshest
   * stored record (again after every lost race, so a concurrent update of
   * other fields is kept). Resolves with the stored record; `not_found` for
   * an unknown producer. `change` may throw to refuse.
   */
  updateProducer(producerId: string, change: (current: Producer) => Producer): Promise<Producer>;
  /** Removes a producer, then its job types and API keys (see above); `not_found` if unknown. */
  deleteProducer(producerId: string): Promise<void>;
  /**
   * Adds a job type. Throws `not_found` for an unknown producer and
   * `already_exists` when (producer, name) exists, also when another
   * replica created it a moment ago.
   */
  createJobType(jobType: JobType): Promise<JobType>;
  /** As updateProducer, for the job type (producer, name); `not_found` if unknown. */
  updateJobType(
    producerId: string,
    name: string,
    change: (current: JobType) => JobType,
  ): Promise<JobType>;
  /** Removes a job type; `not_found` if unknown. */
  deleteJobType(producerId: string, name: string): Promise<void>;
  /**
   * Adds an API key. `not_found` when its producer (if any: an empty
   * producer_id is an admin key) does not exist, `already_exists` for a
   * taken key id.
   */
  createApiKey(key: StoredApiKey): Promise<ApiKey>;
  /** Removes an API key; `not_found` if unknown. */
  revokeApiKey(keyId: string): Promise<void>;
  /**
   * Re-reads the backing objects (skipping unchanged ones) and swaps the
   * snapshot atomically. On failure the last good snapshot stays.
   */
  refresh(): Promise<void>;
  /** The error of the last refresh, or undefined when it succeeded. */
  lastRefreshError(): Error | undefined;
  /** Stops the refresh timer and releases clients. Safe to call twice. */
  close(): Promise<void>;
}

/** The objects a store keeps. */
/** Every object a store keeps: code that walks them all reads this list. */
export const STORE_OBJECT_NAMES = ['producers.json', 'job_types.json', 'api_keys.json'] as const;

export type StoreObjectName = (typeof STORE_OBJECT_NAMES)[number];

/** Generation of an object that does not exist (GCS uses the same convention). */
export const ABSENT_GENERATION = '0';

export interface StoredObject {
  /** Opaque version token; `ABSENT_GENERATION` when the object does not exist. */
  generation: string;
  /** The object's text; undefined when absent or when `unchanged`. */
  text: string | undefined;
  /** True when the caller's known generation is still current (text not fetched). */
  unchanged: boolean;
}

/**
 * Raw access to the objects, implemented once per medium (memory, local
 * directory, GCS). `createCachedStore` (cached-store.ts) builds the Store on
 * top of it, so caching, conflict retries and refresh behave the same on
 * every medium.
 */
export interface ObjectIO {
  readonly kind: string;
  readonly location: string;
  /**
   * Reads an object. When `knownGeneration` is still current the text is not
   * fetched and `unchanged` is true.
   */
  read(name: StoreObjectName, knownGeneration?: string): Promise<StoredObject>;
  /**
   * Replaces the object only if its generation is still `ifGeneration`
   * (`ABSENT_GENERATION`: only if it does not exist). Resolves with the new
   * generation; throws JackError `aborted` when the precondition failed.
   */
  write(name: StoreObjectName, text: string, ifGeneration: string): Promise<string>;
  close(): Promise<void>;
}
