/**
 * Authentication (SPEC §7): turns the `authorization` metadata and the TLS
 * client certificate of a call into a Principal, or throws JackError
 * `unauthenticated` with a message that says what was wrong and never
 * contains the token. A bearer token in the metadata wins over the
 * certificate (the certificate then only proved the connection may exist).
 */
import type { PeerCertificate } from 'node:tls';
import type { Principal } from '../context.js';
import { JackError } from '../errors.js';
import {
  API_KEY_TOKEN_PREFIX,
  type ApiKeyLookup,
  sameDigest,
  sha256,
  verifyApiKey,
} from './api-keys.js';
import type { OidcVerifier } from './oidc.js';

/** Longest authorization value looked at; Google ID tokens are ~1 KB. */
export const MAX_AUTHORIZATION_BYTES = 16 * 1024;
const BEARER = /^Bearer +([^\s]+) *$/i;
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const BOOTSTRAP: Principal = Object.freeze({ kind: 'bootstrap', id: 'bootstrap-admin-key' });

export interface AuthenticatorOptions {
  /** AUTH_BOOTSTRAP_ADMIN_KEY, when set. */
  bootstrapAdminKey: string | undefined;
  /** Synchronous lookup in the store snapshot (`store.getApiKey`). */
  apiKeys: ApiKeyLookup;
  /** Set when AUTH_OIDC_ISSUER / AUTH_OIDC_AUDIENCE are. */
  oidc: OidcVerifier | undefined;
  /** True when TLS_CLIENT_CA_FILE makes every connection carry a verified certificate. */
  clientCertificates: boolean;
}

export interface Authenticator {
  /** Sync for API keys, the bootstrap key, cached tokens and certificates; a promise only to verify a new JWT. */
  authenticate(
    authorization: string | undefined,
    /** Asked only when there is no bearer token (reading a peer certificate allocates). */
    certificate: () => PeerCertificate | undefined,
  ): Principal | Promise<Principal>;
}

const unauthenticated = (message: string) => new JackError('unauthenticated', message);

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const bootstrapDigest =
    options.bootstrapAdminKey === undefined ? undefined : sha256(options.bootstrapAdminKey);
  const { oidc, apiKeys } = options;
  const accepted = [
    'an API key',
    ...(oidc ? ['an OIDC ID token'] : []),
    ...(options.clientCertificates ? ['a client certificate'] : []),
  ].join(' or ');

  return {
    authenticate(authorization, certificate) {
      if (authorization === undefined) {
        const cert = options.clientCertificates ? certificate() : undefined;
        const principal = cert === undefined ? undefined : certificatePrincipal(cert);
        if (principal !== undefined) return principal;
        throw unauthenticated(
          `missing credential: this call needs ${accepted} ("authorization: Bearer <token>")`,
        );
      }
      const token =
        authorization.length <= MAX_AUTHORIZATION_BYTES
          ? BEARER.exec(authorization)?.[1]
          : undefined;
      if (token === undefined) {
        throw unauthenticated('malformed authorization metadata: expected "Bearer <token>"');
      }
      if (bootstrapDigest !== undefined || token.startsWith(API_KEY_TOKEN_PREFIX)) {
        const digest = sha256(token);
        if (bootstrapDigest !== undefined && sameDigest(digest, bootstrapDigest)) return BOOTSTRAP;
        if (token.startsWith(API_KEY_TOKEN_PREFIX)) return verifyApiKey(token, digest, apiKeys);
      }
      if (JWT.test(token)) {
        if (oidc === undefined) {
          throw unauthenticated(
            'bad token: OIDC ID tokens are not accepted here (AUTH_OIDC_ISSUER is not set)',
          );
        }
        return oidc.cached(token) ?? oidc.verify(token);
      }
      throw unauthenticated(`malformed token: expected ${accepted}`);
    },
  };
}

/**
 * The principal of a verified client certificate: its first URI subject
 * alternative name (a SPIFFE id), else its subject CN (SPEC §7.3).
 */
export function certificatePrincipal(cert: PeerCertificate): Principal | undefined {
  const uri = firstUriSan(cert.subjectaltname);
  if (uri !== undefined) return { kind: 'certificate', id: uri };
  const cn = cert.subject?.CN as string | string[] | undefined;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return name ? { kind: 'certificate', id: name } : undefined;
}

/**
 * Node renders SANs as `DNS:a, URI:spiffe://x/y`, quoting (JSON) a value that
 * holds a comma or quote.
 */
function firstUriSan(altNames: string | undefined): string | undefined {
  if (!altNames) return undefined;
  const match = /(?:^|, )URI:("(?:[^"\\]|\\.)*"|[^,]*)/.exec(altNames);
  const value = match?.[1];
  if (!value) return undefined;
  if (!value.startsWith('"')) return value;
  try {
    return JSON.parse(value) as string;
  } catch {
    return undefined;
  }
}
