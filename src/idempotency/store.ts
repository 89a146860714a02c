/**
 * Where idempotency keys live (SPEC §9): in process (`memory.ts`) or in Redis
 * shared by every replica (`redis.ts`). One entry per (producer, key):
 *
 *   absent ──claim──▶ pending(jobId, fingerprint, lease) ──complete──▶ done(jobId, fingerprint)
 *                         │  release (definite failure) ──▶ absent
 *                         │  abandon (outcome unknown)  ──▶ pending with its lease ended
 *
 * The job id is recorded when the key is claimed, before anything is
 * published, so a retry after an unknown outcome (publish timeout, crash)
 * publishes again under the same id. A pending entry whose lease has run out
 * (its owner died or gave up) may be claimed again, by a request with the
 * same fingerprint only, and keeps its job id.
 *
 * Every operation is atomic per entry. Errors are JackErrors: `unavailable`
 * when the store cannot be reached.
 */

export type ClaimResult =
  /** The caller owns the key now and must settle it with `token`. */
  | { kind: 'claimed'; jobId: string; token: string; retry: boolean }
  /** The key's job was accepted. */
  | { kind: 'done'; jobId: string; fingerprint: string }
  /**
   * Another call owns the key (`stale` = its lease ran out: the outcome is
   * unknown; this answer only comes back for a different fingerprint).
   */
  | { kind: 'pending'; jobId: string; fingerprint: string; stale: boolean };

export interface ClaimRequest {
  /** Store key: producer and caller key, see `entryKey`. */
  key: string;
  fingerprint: string;
  /** The job id to record when the key is new. */
  jobId: string;
  /** How long the claim is exclusive, ms. */
  leaseMs: number;
  /** How long the entry is remembered, ms. */
  ttlMs: number;
}

export interface IdempotencyStore {
  /** `memory` or `redis`, for logs. */
  readonly kind: string;
  claim(request: ClaimRequest): Promise<ClaimResult>;
  /** pending → done, remembered for `ttlMs` from now; a no-op unless `token` owns the entry. */
  complete(key: string, token: string, ttlMs: number): Promise<void>;
  /** Forgets a pending entry after a definite failure; a no-op unless `token` owns it. */
  release(key: string, token: string): Promise<void>;
  /** Ends the lease of a pending entry whose outcome is unknown; a no-op unless `token` owns it. */
  abandon(key: string, token: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The store key of (producer, caller key). The producer's byte length comes
 * first, so no choice of ids makes two pairs collide ("a:b"+"c" vs "a"+"b:c").
 * Built with `join`, which makes one flat string: `+` or a template would
 * make a rope of three strings, which the in-process store then keeps for
 * every remembered key (about 100 bytes more per entry, measured).
 */
export function entryKey(producerId: string, key: string): string {
  return [Buffer.byteLength(producerId, 'utf8'), producerId, key].join(':');
}
