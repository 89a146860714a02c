/**
 * API key verification (SPEC §7.1, shared token format): a token is
 * `jk_<16 hex of the key id>_<43 base64url chars of 32 random bytes>`, its key
 * id `key_<same 16 hex>`. Only the SHA-256 of the whole token is stored; the
 * lookup is a synchronous read of the store snapshot (no I/O on the hot
 * path), so a revocation applied to the snapshot is effective at once.
 * Issuing keys is the admin module's job.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../context.js';
import { JackError } from '../errors.js';
import { KeyRole } from '../gen/jack/storage.js';

/** The stored form the store snapshot hands back (`StoredApiKey` of storage.proto). */
export interface StoredApiKeyLike {
  /** `role`: KEY_ROLE_WORKER makes a worker (SPEC §14); any other keeps the §7 rule. */
  key: { keyId: string; producerId: string; role?: KeyRole } | undefined;
  tokenSha256: Uint8Array;
}

export type ApiKeyLookup = (keyId: string) => StoredApiKeyLike | undefined;

export const API_KEY_TOKEN_PREFIX = 'jk_';
const TOKEN = /^jk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;

/** The key id a token names, or undefined when it is not a well-formed API key token. */
export function apiKeyIdOf(token: string): string | undefined {
  const match = TOKEN.exec(token);
  return match === null ? undefined : `key_${match[1]}`;
}

/** One-shot `crypto.hash`: no Hash object per call (about half the cost of createHash on the hot path). */
export function sha256(text: string): Buffer {
  return hash('sha256', text, 'buffer');
}

/** Constant-time equality of two digests (a length mismatch is simply false). */
export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The principal of an API key token. `digest` is sha256(token), passed in so
 * the caller hashes once. Throws `unauthenticated` without echoing the token.
 */
export function verifyApiKey(token: string, digest: Buffer, lookup: ApiKeyLookup): Principal {
  const keyId = apiKeyIdOf(token);
  if (keyId === undefined) {
    throw new JackError('unauthenticated', 'malformed API key: expected jk_<key id>_<secret>');
  }
  const stored = lookup(keyId);
  // One message for unknown and wrong-secret, so a caller cannot probe key ids.
  if (stored?.key === undefined || !sameDigest(digest, stored.tokenSha256)) {
    throw new JackError('unauthenticated', `unknown or revoked API key ${keyId}`);
  }
  let principal = principals.get(stored);
  if (principal === undefined) {
    const producerId = stored.key.producerId;
    const worker = stored.key.role === KeyRole.KEY_ROLE_WORKER;
    principal = Object.freeze<Principal>({
      kind: 'api_key',
      id: keyId,
      ...(producerId === '' ? {} : { producerId }),
      ...(worker ? { role: 'worker' as const } : {}),
    });
    principals.set(stored, principal);
  }
  return principal;
}

/**
 * One frozen Principal per stored key record: no allocation per call. Keyed
 * by the snapshot's record, so a refreshed or revoked key never reuses it.
 */
const principals = new WeakMap<StoredApiKeyLike, Principal>();
