/**
 * Runs the idempotency store contract against both media: in process, and
 * a real redis-server shared by two connections (two replicas).
 */
import { createMemoryIdempotencyStore } from '../../src/idempotency/memory.js';
import { describeIdempotencyStoreContract } from '../contract/idempotency-store.contract.js';

describeIdempotencyStoreContract('memory', false, async () => ({
  open: async () => createMemoryIdempotencyStore({ maxKeys: 1000 }),
  dispose: async () => {},
}));
