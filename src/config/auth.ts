/** The identity section (SPEC §7): auth mode, admin credentials, OIDC, client certificates. */
import { type Env, nonEmpty, type Parser } from './parser.js';
import type { TlsConfig } from './server.js';

export const MIN_BOOTSTRAP_ADMIN_KEY_CHARS = 32;

/** A secret that stays out of logs: JSON and inspect show `[redacted]`; `reveal()` gives the value. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[redacted]';
  }
}

export interface AuthConfig {
  /** `off`: every caller may do everything (today's behaviour); `on`: SPEC §7. */
  mode: 'off' | 'on';
  /** AUTH_BOOTSTRAP_ADMIN_KEY: a secret accepted as an admin credential. Never logged. */
  bootstrapAdminKey: Secret | undefined;
  /** AUTH_ADMIN_PRINCIPALS: OIDC / certificate principals that are admins. */
  adminPrincipals: readonly string[];
  /** AUTH_WORKER_PRINCIPALS: OIDC / certificate principals with the worker role (SPEC §14). */
  workerPrincipals: readonly string[];
  /** Set when AUTH_OIDC_ISSUER and AUTH_OIDC_AUDIENCE are. */
  oidc: { issuer: string; audience: string; jwksUrl: string | undefined } | undefined;
  /** TLS_CLIENT_CA_FILE: clients must present a certificate signed by this CA. */
  clientCaFile: string | undefined;
}

export function parseAuth(
  p: Parser,
  env: Env,
  tls: TlsConfig | undefined,
  problems: string[],
): AuthConfig {
  const mode = p.oneOf('AUTH_MODE', ['off', 'on'] as const) ?? 'off';
  // Read by hand: the Parser's messages quote the value, and this one is a secret.
  const bootstrapAdminKey = nonEmpty(env.AUTH_BOOTSTRAP_ADMIN_KEY)
    ? env.AUTH_BOOTSTRAP_ADMIN_KEY.trim()
    : undefined;
  if (bootstrapAdminKey !== undefined && bootstrapAdminKey.length < MIN_BOOTSTRAP_ADMIN_KEY_CHARS) {
    problems.push(
      `AUTH_BOOTSTRAP_ADMIN_KEY is too short: at least ${MIN_BOOTSTRAP_ADMIN_KEY_CHARS} characters (value not shown)`,
    );
  }
  const list = (name: string) =>
    (p.string(name) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const adminPrincipals = list('AUTH_ADMIN_PRINCIPALS');
  const workerPrincipals = list('AUTH_WORKER_PRINCIPALS');
  const issuer = p.url('AUTH_OIDC_ISSUER');
  const audience = p.string('AUTH_OIDC_AUDIENCE');
  const jwksUrl = p.url('AUTH_OIDC_JWKS_URL');
  let oidc: AuthConfig['oidc'];
  if (issuer !== undefined && audience !== undefined) oidc = { issuer, audience, jwksUrl };
  else if (issuer !== undefined || audience !== undefined) {
    problems.push('AUTH_OIDC_ISSUER and AUTH_OIDC_AUDIENCE must be set together');
  } else if (jwksUrl !== undefined) {
    problems.push('AUTH_OIDC_JWKS_URL is set but AUTH_OIDC_ISSUER is not');
  }
  const clientCaFile = p.string('TLS_CLIENT_CA_FILE');
  if (clientCaFile !== undefined && tls === undefined && !nonEmpty(env.TLS_CERT_FILE)) {
    problems.push(
      'TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE (client certificates need TLS)',
    );
  }
  if (adminPrincipals.length > 0 && oidc === undefined && clientCaFile === undefined) {
    problems.push(
      'AUTH_ADMIN_PRINCIPALS needs AUTH_OIDC_ISSUER or TLS_CLIENT_CA_FILE (nothing else yields principals)',
    );
  }
  if (workerPrincipals.length > 0 && oidc === undefined && clientCaFile === undefined) {
    problems.push(
      'AUTH_WORKER_PRINCIPALS needs AUTH_OIDC_ISSUER or TLS_CLIENT_CA_FILE (nothing else yields principals)',
    );
  }
  if (mode === 'off') {
    // An operator who configured identity but not the switch must not run an
    // open service believing it is closed (the same rule as QUEUE_BACKEND).
    const stray = [
      'AUTH_BOOTSTRAP_ADMIN_KEY',
      'AUTH_ADMIN_PRINCIPALS',
      'AUTH_WORKER_PRINCIPALS',
      'AUTH_OIDC_ISSUER',
      'AUTH_OIDC_AUDIENCE',
    ].filter((name) => nonEmpty(env[name]));
    if (stray.length > 0) {
      problems.push(
        `${stray.join(', ')} set while AUTH_MODE=off (set AUTH_MODE=on to require credentials)`,
      );
    }
  }
  return {
    mode,
    bootstrapAdminKey: bootstrapAdminKey === undefined ? undefined : new Secret(bootstrapAdminKey),
    adminPrincipals,
    workerPrincipals,
    oidc,
    clientCaFile,
  };
}
