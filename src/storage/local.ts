import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { JackError } from '../errors.js';
import { createCachedStore } from './cached-store.js';
import { ABSENT_GENERATION, type ObjectIO, type Store, type StoreObjectName } from './store.js';

/**
 * The two files in a local directory. A write goes to a temp file in the
 * same directory, is fsynced, and is renamed over the target: a reader (or a
 * crash) sees the old file or the new one, never a torn one. The generation
 * is the file's inode, size and mtime, so an edit on disk is seen by refresh.
 */
export function createLocalObjects(dir: string): ObjectIO {
  const root = resolve(dir);
  const generationOf = async (path: string): Promise<string> => {
    try {
      const s = await stat(path, { bigint: true });
      return `${s.ino}-${s.size}-${s.mtimeNs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return ABSENT_GENERATION;
      throw ioError('stat', path, err);
    }
  };
  return {
    kind: 'local',
    location: root,
    async read(name: StoreObjectName, knownGeneration?: string) {
      const path = join(root, name);
      const generation = await generationOf(path);
      if (generation === knownGeneration) return { generation, text: undefined, unchanged: true };
      if (generation === ABSENT_GENERATION)
        return { generation, text: undefined, unchanged: false };
      try {
        const text = await readFile(path, 'utf8');
        // Stat again: the generation we report must describe the text we read.
        return { generation: await generationOf(path), text, unchanged: false };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          return { generation: ABSENT_GENERATION, text: undefined, unchanged: false };
        }
        throw ioError('read', path, err);
      }
    },
    async write(name: StoreObjectName, text: string, ifGeneration: string) {
      const path = join(root, name);
      // Best effort across processes (a directory has no compare-and-swap);
      // exact within one process, whose writes the cached store serialises.
      const current = await generationOf(path);
      if (current !== ifGeneration) {
        throw new JackError('aborted', `${path} changed on disk since it was read`);
      }
      const temp = join(root, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      try {
        await mkdir(root, { recursive: true });
        await writeFile(temp, text, { encoding: 'utf8', flush: true });
        await rename(temp, path);
      } catch (err) {
        await unlink(temp).catch(() => {});
        throw ioError('write', path, err);
      }
      return generationOf(path);
    },
    async close() {},
  };
}

function ioError(op: string, path: string, err: unknown): JackError {
  const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
  return new JackError('unavailable', `cannot ${op} ${path}: ${code}`, { cause: err });
}

export interface LocalStoreOptions {
  dir: string;
  logger: Logger;
  refreshIntervalMs: number;
  onRefresh?: (error: Error | undefined) => void;
}

/** Creates the directory if needed; fails at startup when it is not usable. */
export async function createLocalStore(options: LocalStoreOptions): Promise<Store> {
  try {
    await mkdir(options.dir, { recursive: true });
  } catch (err) {
    throw ioError('create directory', resolve(options.dir), err);
  }
  return createCachedStore(createLocalObjects(options.dir), options);
}
