/**
 * The identity module assembled from the configuration (SPEC §7): the
 * startup warning of AUTH_MODE=off, the startup error when AUTH_MODE=on
 * leaves no admin able to authenticate, and the authenticator + authorizer
 * the auth interceptor and the enqueuer use.
 */
import type { Logger } from 'pino';
import type { AuthConfig } from '../config/index.js';
import type { CallContext } from '../context.js';
import { JackError } from '../errors.js';
import { KeyRole } from '../gen/jack/storage.js';
import type { StoredApiKeyLike } from './api-keys.js';
import { type Authenticator, createAuthenticator } from './credentials.js';
import { createOidcVerifier, type OidcVerifier } from './oidc.js';
import {
  type Authorizer,
  createAuthorizer,
  createPrincipalIndex,
  type ProducerSource,
} from './principals.js';

/** What identity reads from the config store: synchronous snapshot reads only. */
export interface IdentityStore extends ProducerSource {
  getApiKey(keyId: string): StoredApiKeyLike | undefined;
  listApiKeys(producerId?: string): readonly { producerId: string; role?: KeyRole }[];
}

export interface Identity {
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  /** The per-job check the enqueuer asks (EnqueueBulk): throws `permission_denied`. */
  authorizeJob(producerId: string, ctx: CallContext): void;
  close(): void;
}

export interface IdentityOptions {
  config: AuthConfig;
  /** The bound address (GRPC_HOST): AUTH_MODE=off warns when it is not loopback. */
  grpcHost: string;
  store: IdentityStore;
  logger: Logger;
}

export function isLoopback(host: string): boolean {
  return (
    host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
  );
}

/** undefined when AUTH_MODE=off: every caller may do everything. */
export async function createIdentity(options: IdentityOptions): Promise<Identity | undefined> {
  const { config, store, logger } = options;
  if (config.mode === 'off') {
    if (!isLoopback(options.grpcHost)) {
      logger.warn(
        { grpcHost: options.grpcHost },
        'AUTH_MODE=off: anyone who can reach this port may enqueue and administer (set AUTH_MODE=on, see "Securing Jack")',
      );
    }
    return undefined;
  }
  // A worker key without a producer is no admin (SPEC §14).
  const adminKeys = store
    .listApiKeys()
    .filter((key) => key.producerId === '' && key.role !== KeyRole.KEY_ROLE_WORKER).length;
  if (
    config.bootstrapAdminKey === undefined &&
    config.adminPrincipals.length === 0 &&
    adminKeys === 0
  ) {
    throw new JackError(
      'failed_precondition',
      'AUTH_MODE=on but no admin can authenticate: set AUTH_BOOTSTRAP_ADMIN_KEY or AUTH_ADMIN_PRINCIPALS, or create an admin API key first',
    );
  }
  let oidc: OidcVerifier | undefined;
  if (config.oidc !== undefined) {
    oidc = createOidcVerifier({ ...config.oidc, logger });
    // Fetch the keys before the first call; a failure is retried on demand.
    await oidc.warm();
  }
  const authenticator = createAuthenticator({
    bootstrapAdminKey: config.bootstrapAdminKey?.reveal(),
    apiKeys: (keyId) => store.getApiKey(keyId),
    oidc,
    clientCertificates: config.clientCaFile !== undefined,
  });
  const authorizer = createAuthorizer({
    adminPrincipals: config.adminPrincipals,
    workerPrincipals: config.workerPrincipals,
    index: createPrincipalIndex(store),
  });
  logger.info(
    {
      bootstrapAdminKey: config.bootstrapAdminKey !== undefined,
      adminPrincipals: config.adminPrincipals.length,
      adminApiKeys: adminKeys,
      workerPrincipals: config.workerPrincipals.length,
      oidcIssuer: config.oidc?.issuer,
      clientCertificates: config.clientCaFile !== undefined,
    },
    'AUTH_MODE=on: every call of jack.BackgroundJobs, jack.AdminService and jack.Jobs needs a credential',
  );
  return {
    authenticator,
    authorizer,
    authorizeJob(producerId, ctx) {
      if (ctx.principal === undefined) {
        throw new JackError('unauthenticated', 'missing credential');
      }
      authorizer.authorizeJob(ctx.principal, producerId);
    },
    close() {
      oidc?.close();
    },
  };
}
