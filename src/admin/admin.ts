/**
 * The admin domain (SPEC §2 AdminService, §10): every rule about producers,
 * job types and API keys — ids, defaults, validation, field masks, paging —
 * independent of the transport. `api/admin-service.ts` adapts it to gRPC.
 */
import { apiKeyRules } from './api-keys.js';
import { jobTypeRules } from './job-types.js';
import { producerRules } from './producers.js';
import type { AdminDeps } from './rules.js';

export type { AdminDeps } from './rules.js';

export function createAdmin(deps: AdminDeps) {
  return { ...producerRules(deps), ...jobTypeRules(deps), ...apiKeyRules(deps) };
}

export type Admin = ReturnType<typeof createAdmin>;
