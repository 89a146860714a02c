/**
 * Runs the ledger store contract against both stores: in process, and a
 * real PostgreSQL (one database per fixture, two stores = two replicas).
 */
import { createMemoryLedgerStore } from '../../src/ledger/memory.js';
import { describeLedgerStoreContract } from '../contract/ledger-store.contract.js';

describeLedgerStoreContract('memory', false, async () => ({
  open: async () => createMemoryLedgerStore({ maxJobs: 1000 }),
  dispose: async () => {},
}));
