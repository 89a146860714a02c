import type { JobType, Producer } from '../gen/jack/storage.js';

export type { JobType, Producer };

/**
 * Holds producers and job types. Reads are synchronous and come from an
 * in-memory snapshot (the enqueue hot path never waits on I/O); writes go
 * through to the backing objects and then update the snapshot.
 *
 * Errors are `JackError`s: `unavailable` when the backing store cannot be
 * reached, `aborted` when a write kept losing races with other replicas after
 * its retries, `internal` for corrupt stored data.
 *
 * @remarks Deliberately not part of this contract: updates and deletes (not
 * in the API yet), and any notion of who may write (admission control comes
 * later, in front of the handlers).
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
  /**
   * Adds a producer (its id is already chosen). Resolves once stored; a lost
   * race with another replica is re-read and retried, never dropped.
   */
  createProducer(producer: Producer): Promise<Producer>;
  /**
   * Adds a job type. Throws `not_found` for an unknown producer and
   * `already_exists` when (producer, name) exists, also when another
   * replica created it a moment ago.
   */
  createJobType(jobType: JobType): Promise<JobType>;
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

/** The two objects a store keeps. */
export type StoreObjectName = 'producers.json' | 'job_types.json';

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
 * Raw access to the two objects, implemented once per medium (memory, local
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
