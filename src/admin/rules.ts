/** Small rules shared by the admin operations. Pure; no grpc import. */
import { JackError } from '../errors.js';
import type { Store } from '../storage/store.js';

export interface AdminDeps {
  store: Store;
  now?: () => Date;
}

/**
 * Calls `create` with fresh random ids until one is not taken: the store
 * answers `already_exists` when another replica took the id a moment ago.
 */
export async function withFreshId<T>(
  newId: () => string,
  taken: (id: string) => boolean,
  create: (id: string) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let id = newId();
    while (taken(id)) id = newId();
    try {
      return await create(id);
    } catch (err) {
      if (!(err instanceof JackError && err.code === 'already_exists') || attempt >= 3) throw err;
    }
  }
}
