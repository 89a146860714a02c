import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { isJackError, JackError } from '../errors.js';
import type { StoreObjectName } from './store.js';

/** One object's list of records at one generation. */
export interface Versioned<T> {
  generation: string;
  records: readonly T[];
}

/**
 * A change to one object's records: returns the new list, or undefined when
 * nothing needs writing (already applied); throws to refuse (that caller
 * alone gets the error). Called again on the freshest list after every lost
 * race, so it must be a pure function of its input.
 */
export type Change<T> = (records: readonly T[]) => T[] | undefined;

export interface GroupCommitOptions<T> {
  name: StoreObjectName;
  /** The records the first attempt starts from (the snapshot: no read). */
  current: () => Versioned<T>;
  /** A fresh read of the object, after a lost race. */
  read: () => Promise<Versioned<T>>;
  /** Conditional write: resolves with the new generation, throws JackError `aborted` on a lost race. */
  write: (text: string, ifGeneration: string) => Promise<string>;
  encode: (records: readonly T[]) => string;
  /** Makes a written (or freshly read) list the current one. */
  install: (version: Versioned<T>) => void;
  logger: Logger;
  /** Conditional-write attempts before the callers get `aborted`. @default 8 */
  maxAttempts?: number;
  /** Upper bound of the random back-off between attempts, ms. @default 200 */
  maxBackoffMs?: number;
}

export interface GroupCommit<T> {
  /**
   * Resolves once the change is stored (or needed no write); rejects with its
   * refusal or the write's error. `fresh`: apply it to a read made after this
   * call rather than to `current()` — for a change that must see every write
   * that finished before it was submitted even when it then writes nothing
   * (a conditional write would catch a stale base, but no write is made
   * when the stale list lacks the record a change looks for).
   */
  submit(change: Change<T>, fresh?: boolean): Promise<void>;
  /** Resolves when every submitted change is settled. */
  idle(): Promise<void>;
}

interface Pending<T> {
  change: Change<T>;
  fresh: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const settle = <T>(batch: readonly Pending<T>[], err?: unknown) => {
  for (const item of batch) {
    if (err === undefined) item.resolve();
    else item.reject(err);
  }
};

/**
 * Group commit of one object's changes. Changes submitted while a write is
 * in flight wait and then go out together in one conditional write, so a
 * burst of creates costs a few writes, and a replica that lost a race
 * retries all its pending changes at once instead of being starved by a
 * busier one. The first attempt trusts `current()` (no read); a
 * precondition failure means another replica wrote, so the object is
 * re-read and every change re-applied, with a jittered back-off, at most
 * `maxAttempts` times before the callers get `aborted`.
 */
export function createGroupCommit<T>(options: GroupCommitOptions<T>): GroupCommit<T> {
  const { name, logger } = options;
  const maxAttempts = options.maxAttempts ?? 8;
  const maxBackoffMs = options.maxBackoffMs ?? 200;
  let pending: Pending<T>[] = [];
  let running: Promise<void> | undefined;

  const commit = async (batch: Pending<T>[]) => {
    let base = options.current();
    if (batch.some((item) => item.fresh)) {
      try {
        base = await options.read();
      } catch (err) {
        return settle(batch, err);
      }
      options.install(base);
    }
    for (let attempt = 1; ; attempt++) {
      // Re-apply every change to the freshest list; a change that no longer
      // applies (a duplicate created meanwhile) fails alone.
      let records = base.records;
      let changed = false;
      const applied: Pending<T>[] = [];
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
        const generation = await options.write(options.encode(records), base.generation);
        options.install({ generation, records });
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
          base = await options.read();
        } catch (readError) {
          return settle(batch, readError);
        }
        options.install(base);
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
    submit(change, fresh = false) {
      return new Promise<void>((resolve, reject) => {
        pending.push({ change, fresh, resolve, reject });
        running ??= drain();
      });
    },
    idle: () => running ?? Promise.resolve(),
  };
}
