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
import { required } from '../jobs/validate.js';
import type { ApiKey } from '../storage/store.js';
import { checkDescription } from './limits.js';
import { type Page, type PageRequest, paginate } from './page-token.js';
import { type AdminDeps, withFreshId } from './rules.js';

/**
 * SPEC §14: an admin key names no producer, a producer key names one, a
 * worker key may name one (then it reads and reports only that producer's
 * jobs); unspecified keeps the rule of §7 (a producer_id makes a producer
 * key, none an admin key).
 */
function checkRole(role: KeyRole, producerId: string): void {
  switch (role) {
    case KeyRole.KEY_ROLE_UNSPECIFIED:
    case KeyRole.KEY_ROLE_WORKER:
      return;
    case KeyRole.KEY_ROLE_ADMIN:
      if (producerId !== '') {
        throw new JackError(
          'invalid_argument',
          'role KEY_ROLE_ADMIN takes no producer_id: an admin key acts for every producer',
        );
      }
      return;
    case KeyRole.KEY_ROLE_PRODUCER:
      if (producerId === '') {
        throw new JackError('invalid_argument', 'role KEY_ROLE_PRODUCER needs a producer_id');
      }
      return;
    default:
      throw new JackError('invalid_argument', `role ${role} is not a known KeyRole`);
  }
}

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
      checkRole(request.role ?? KeyRole.KEY_ROLE_UNSPECIFIED, request.producerId);
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

    /**
     * One page of every key when `producerId` is empty, else of that
     * producer's, oldest first; never a hash. A token is only good for the
     * producer_id it was issued with.
     */
    listApiKeys(request: PageRequest & { producerId: string }): Page<ApiKey> {
      const { producerId } = request;
      return paginate(
        store.listApiKeys(producerId === '' ? undefined : producerId),
        request,
        `api_keys/${producerId}`,
        (k) => [k.createdAt?.getTime() ?? 0, k.keyId],
      );
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
