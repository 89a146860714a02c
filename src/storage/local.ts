import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { JackError, toError } from '../errors.js';
import { createCachedStore } from './cached-store.js';
import {
  ABSENT_GENERATION,
  type ObjectIO,
  STORE_OBJECT_NAMES,
  type Store,
  type StoreObjectName,
} from './store.js';

interface LockOptions {
  realpath: boolean;
  lockfilePath: string;
  stale: number;
  retries: number;
  onCompromised: (err: Error) => void;
}
// proper-lockfile is CommonJS without types: the one function we use.
const lockfile = createRequire(import.meta.url)('proper-lockfile') as {
  lock(file: string, options: LockOptions): Promise<() => Promise<void>>;
};

/**
 * A lock older than this is taken over (its holder was killed). The holder
 * refreshes it every half of this; a write holds it for milliseconds.
 */
const LOCK_STALE_MS = 3_000;

/**
 * How long a write waits for a lock another writer holds: past the stale
 * time, so a killed holder's lock is taken over, and well under a client's
 * default 10 s deadline, so the client hears `unavailable` from Jack.
 */
const LOCK_WAIT_MS = 4_000;

/** `.producers.json.<pid>.<hex>.tmp`: the temp file of one write. */
const tempPrefix = (name: StoreObjectName) => `.${name}.`;

/**
 * Takes the exclusive lock of one object. Only a lock held by someone else
 * (ELOCKED) is waited for, up to LOCK_WAIT_MS; any other error (the
 * directory is gone, is a file, is read-only, the disk is full) fails at
 * once. proper-lockfile's own retries would retry those too, for as long as
 * they are configured to wait.
 */
async function acquireLock(
  root: string,
  name: StoreObjectName,
  onCompromised: (err: Error) => void,
): Promise<() => Promise<void>> {
  const lockPath = join(root, `.${name}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  let backoffMs = 5;
  for (;;) {
    try {
      return await lockfile.lock(join(root, name), {
        realpath: false,
        lockfilePath: lockPath,
        stale: LOCK_STALE_MS,
        retries: 0,
        // The default throws from a timer, which would crash the process.
        onCompromised,
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') {
        throw ioError('write', name, err, lockPath);
      }
      const waitMs = backoffMs * (0.5 + Math.random());
      if (Date.now() + waitMs > deadline) {
        throw new JackError(
          'unavailable',
          `the config store is busy (${name} stays locked); retry`,
          {
            cause: err,
          },
        );
      }
      await sleep(waitMs);
      backoffMs = Math.min(100, backoffMs * 1.5);
    }
  }
}

/**
 * Runs `fn` holding the exclusive lock of one object (a `.<name>.lock`
 * directory, proper-lockfile): every process sharing the directory
 * serialises its writes of that object there.
 */
async function withLock<T>(root: string, name: StoreObjectName, fn: () => Promise<T>): Promise<T> {
  let compromised: Error | undefined;
  const release = await acquireLock(root, name, (err) => {
    compromised = err;
  });
  try {
    const result = await fn();
    if (compromised !== undefined) {
      throw new JackError('unavailable', `the config store lost its lock on ${name}; retry`, {
        cause: compromised,
      });
    }
    return result;
  } finally {
    await release().catch(() => {});
  }
}

/**
 * The two files in a local directory. A write takes the object's exclusive
 * lock, checks the generation it was given (so it applies only on top of
 * what the writer last read, also across processes), writes a temp file in
 * the same directory, fsyncs it and renames it over the target: a reader (or
 * a crash) sees the old file or the new one, never a torn one. A lost race is
 * `aborted`, on which the cached store re-reads and re-applies.
 *
 * The generation is the file's inode, size and mtime plus a random token
 * that every write stores beside the file (`.<name>.version`) after its
 * rename. Inode (a freed one is reused at once), size and mtime (ticking in
 * milliseconds) alone repeat with two writers, and a repeated generation
 * would let a stale write through; the token never repeats. An edit on disk
 * changes the stat part, so refresh sees it.
 */
export function createLocalObjects(dir: string): ObjectIO {
  const root = resolve(dir);
  /** `ino-size-mtime` of the file; ABSENT_GENERATION when there is none. */
  const statOf = async (name: StoreObjectName): Promise<string> => {
    try {
      const s = await stat(join(root, name), { bigint: true });
      return `${s.ino}-${s.size}-${s.mtimeNs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ABSENT_GENERATION;
      throw ioError('read', name, err, join(root, name));
    }
  };
  const versionFile = (name: StoreObjectName) => join(root, `.${name}.version`);
  const tokenOf = async (name: StoreObjectName): Promise<string> => {
    try {
      return (await readFile(versionFile(name), 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw ioError('read', name, err, versionFile(name));
    }
  };
  /**
   * The generation as it is now. Token first, stat last: a generation read
   * around a concurrent write can only be older than the text, never newer,
   * so at worst the next conditional write aborts and re-reads.
   */
  const generationNow = async (name: StoreObjectName, token?: string): Promise<string> => {
    const t = token ?? (await tokenOf(name));
    const statPart = await statOf(name);
    return statPart === ABSENT_GENERATION ? ABSENT_GENERATION : `${statPart}/${t}`;
  };
  return {
    kind: 'local',
    location: root,
    async read(name: StoreObjectName, knownGeneration?: string) {
      const token = await tokenOf(name);
      const generation = await generationNow(name, token);
      if (generation === knownGeneration) return { generation, text: undefined, unchanged: true };
      if (generation === ABSENT_GENERATION)
        return { generation, text: undefined, unchanged: false };
      try {
        const text = await readFile(join(root, name), 'utf8');
        // Stat again: the generation we report must not be newer than the text.
        return { generation: await generationNow(name, token), text, unchanged: false };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          return { generation: ABSENT_GENERATION, text: undefined, unchanged: false };
        }
        throw ioError('read', name, err, join(root, name));
      }
    },
    async write(name: StoreObjectName, text: string, ifGeneration: string) {
      return withLock(root, name, async () => {
        if ((await generationNow(name)) !== ifGeneration) {
          throw new JackError('aborted', `${name} changed since it was read`);
        }
        const temp = join(
          root,
          `${tempPrefix(name)}${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
        );
        const token = randomBytes(12).toString('base64url');
        try {
          await writeFile(temp, text, { encoding: 'utf8', flush: true });
          await rename(temp, join(root, name));
          await writeFile(versionFile(name), token, 'utf8');
        } catch (err) {
          await unlink(temp).catch(() => {});
          throw ioError('write', name, err, join(root, name));
        }
        return generationNow(name, token);
      });
    },
    async close() {},
  };
}

/**
 * Removes the temp files a killed process left behind. Under each object's
 * lock: temp files are only written under it, so none of them belongs to a
 * live writer.
 */
export async function removeOrphanedTempFiles(dir: string): Promise<string[]> {
  const root = resolve(dir);
  const removed: string[] = [];
  for (const name of STORE_OBJECT_NAMES) {
    await withLock(root, name, async () => {
      let entries: string[];
      try {
        entries = await readdir(root);
      } catch (err) {
        throw ioError('list', name, err, root);
      }
      for (const entry of entries) {
        if (!entry.startsWith(tempPrefix(name)) || !entry.endsWith('.tmp')) continue;
        await unlink(join(root, entry)).catch(() => {});
        removed.push(entry);
      }
    });
  }
  return removed;
}

/**
 * A message of Jack's own for the client; the path and the system error go
 * to the log through `cause`.
 */
function ioError(op: string, name: StoreObjectName, err: unknown, path?: string): JackError {
  const e = err as NodeJS.ErrnoException;
  // The operator's detail (path and errno code), appended to a startup failure line.
  const detail = new JackError(
    'unavailable',
    `cannot ${op} ${path ?? e.path ?? name}: ${e.code ?? toError(err).message}`,
    { cause: err },
  );
  return new JackError('unavailable', `the config store cannot ${op} ${name}`, { cause: detail });
}

export interface LocalStoreOptions {
  dir: string;
  logger: Logger;
  refreshIntervalMs: number;
  onRefresh?: (error: Error | undefined) => void;
}

/** Creates the directory if needed; fails at startup when it is not usable. */
export async function createLocalStore(options: LocalStoreOptions): Promise<Store> {
  const root = resolve(options.dir);
  try {
    await mkdir(root, { recursive: true });
  } catch (err) {
    // Startup only (never a client answer): the operator needs the path.
    throw new JackError(
      'unavailable',
      `CONFIG_DIR=${options.dir} cannot be created: ${(err as NodeJS.ErrnoException).code ?? 'unknown error'}`,
      { cause: err },
    );
  }
  const removed = await removeOrphanedTempFiles(root);
  if (removed.length > 0) {
    options.logger.info(
      { dir: root, files: removed },
      'removed temp files of an interrupted write',
    );
  }
  return createCachedStore(createLocalObjects(root), options);
}
