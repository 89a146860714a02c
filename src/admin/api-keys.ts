/**
 * API keys (SPEC §7, §10). The token is `jk_<16 hex>_<43 base64url>`: the
 * hex names the key (`key_<16 hex>`), the rest is 32 random bytes. It is
 * returned once by createApiKey; only its SHA-256 is stored. Verification
 * (same format, same digest) is src/identity/api-keys.ts.
 */
import { randomBytes } from 'node:crypto';
import { JackError } from '../errors.js';
import { KeyRole } from '../gen/jack/storage.js';
import { API_KEY_TOKEN_PREFIX, sha256 } from '../identity/api-keys.js';
import type { ApiKey } from '../storage/store.js';
import { checkDescription } from './limits.js';
import { type AdminDeps, required, withFreshId } from './rules.js';

export function apiKeyRules(deps: AdminDeps) {
  const { store } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    /**
     * A new key for `producerId` (empty: an admin key). NOT_FOUND for an
     * unknown producer, also one deleted while the key was being stored.
     */
    async createApiKey(request: {
      producerId: string;
      description: string;
      role?: KeyRole;
    }): Promise<{ apiKey: ApiKey; token: string }> {
      checkDescription(request.description);
      const hex = () => randomBytes(8).toString('hex');
      let token = '';
      const apiKey = await withFreshId(
        () => `key_${hex()}`,
        (keyId) => store.getApiKey(keyId) !== undefined,
        (keyId) => {
          token = `${API_KEY_TOKEN_PREFIX}${keyId.slice('key_'.length)}_${randomBytes(32).toString('base64url')}`;
          return store.createApiKey({
            key: {
              keyId,
              producerId: request.producerId,
              description: request.description,
              createdAt: now(),
              role: request.role ?? KeyRole.KEY_ROLE_UNSPECIFIED,
            },
            tokenSha256: sha256(token),
          });
        },
      );
      return { apiKey, token };
    },

    /** Every key when `producerId` is empty, else that producer's; never a hash. */
    listApiKeys(producerId: string): ApiKey[] {
      return [...store.listApiKeys(producerId === '' ? undefined : producerId)];
    },

    async revokeApiKey(keyId: string): Promise<void> {
      required('key_id', keyId);
      // Not echoed whole: a key id is 20 characters, a request field can be megabytes.
      if (keyId.length > 64) {
        throw new JackError('not_found', `API key not found: ${keyId.slice(0, 64)}…`);
      }
      await store.revokeApiKey(keyId);
    },
  };
}
