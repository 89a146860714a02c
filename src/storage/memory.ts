import type { Logger } from 'pino';
import { JackError } from '../errors.js';
import { createCachedStore } from './cached-store.js';
import { ABSENT_GENERATION, type ObjectIO, type Store, type StoreObjectName } from './store.js';

/**
 * Objects held in this process: a real implementation with generations and
 * preconditions like the others, lost at exit. Two stores may share one
 * MemoryObjects to stand for two replicas of one bucket (tests).
 */
export function createMemoryObjects(): ObjectIO {
  const objects = new Map<StoreObjectName, { generation: number; text: string }>();
  let nextGeneration = 1;
  return {
    kind: 'memory',
    location: 'this process, lost at exit',
    async read(name, knownGeneration) {
      const object = objects.get(name);
      const generation = object === undefined ? ABSENT_GENERATION : String(object.generation);
      if (knownGeneration === generation) return { generation, text: undefined, unchanged: true };
      return { generation, text: object?.text, unchanged: false };
    },
    async write(name, text, ifGeneration) {
      const current = objects.get(name);
      const generation = current === undefined ? ABSENT_GENERATION : String(current.generation);
      if (generation !== ifGeneration) {
        throw new JackError(
          'aborted',
          `${name} changed (generation ${generation}, expected ${ifGeneration})`,
        );
      }
      const written = { generation: nextGeneration++, text };
      objects.set(name, written);
      return String(written.generation);
    },
    async close() {},
  };
}

export interface MemoryStoreOptions {
  logger: Logger;
  /** Share objects between stores (replicas in tests); default: fresh. */
  objects?: ObjectIO;
  refreshIntervalMs?: number;
}

export function createMemoryStore(options: MemoryStoreOptions): Promise<Store> {
  return createCachedStore(options.objects ?? createMemoryObjects(), {
    logger: options.logger,
    refreshIntervalMs: options.refreshIntervalMs ?? 0,
  });
}
