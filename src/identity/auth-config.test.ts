import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configError } from '../../test/support/config-error.js';
import { loadConfig } from '../config/index.js';

const KEY = 's3cr3t-bootstrap-key-0123456789abcdef';

const problems = (env: Record<string, string>): string => configError(env).message;

describe('identity configuration (SPEC §7)', () => {
  it('defaults to AUTH_MODE=off with nothing else', () => {
    expect(loadConfig({}).auth).toEqual({
      mode: 'off',
      bootstrapAdminKey: undefined,
      adminPrincipals: [],
      workerPrincipals: [],
      oidc: undefined,
      clientCaFile: undefined,
    });
  });

  it('reads every variable; the bootstrap key never shows in JSON or inspect', () => {
    const config = loadConfig({
      AUTH_MODE: 'on',
      AUTH_BOOTSTRAP_ADMIN_KEY: KEY,
      AUTH_ADMIN_PRINCIPALS: 'ops@corp.test, spiffe://corp/admin ,',
      AUTH_OIDC_ISSUER: 'https://accounts.google.com',
      AUTH_OIDC_AUDIENCE: 'https://jack.run.app',
      AUTH_OIDC_JWKS_URL: 'https://www.googleapis.com/oauth2/v3/certs',
      TLS_CERT_FILE: '/c.pem',
      TLS_KEY_FILE: '/k.pem',
      TLS_CLIENT_CA_FILE: '/ca.pem',
    });
    expect(config.auth.bootstrapAdminKey?.reveal()).toBe(KEY);
    expect(config.auth.adminPrincipals).toEqual(['ops@corp.test', 'spiffe://corp/admin']);
    expect(config.auth.oidc).toEqual({
      issuer: 'https://accounts.google.com',
      audience: 'https://jack.run.app',
      jwksUrl: 'https://www.googleapis.com/oauth2/v3/certs',
    });
    expect(config.auth.clientCaFile).toBe('/ca.pem');
    expect(JSON.stringify(config)).not.toContain(KEY);
    expect(inspect(config, { depth: 10 })).not.toContain(KEY);
  });

  it('refuses a short bootstrap key without quoting it', () => {
    const message = problems({ AUTH_MODE: 'on', AUTH_BOOTSTRAP_ADMIN_KEY: 'short-secret' });
    expect(message).toContain('AUTH_BOOTSTRAP_ADMIN_KEY is too short: at least 32 characters');
    expect(message).not.toContain('short-secret');
  });

  it('refuses incomplete or inconsistent settings, naming the variables', () => {
    expect(problems({ AUTH_MODE: 'maybe' })).toContain('AUTH_MODE="maybe" is not one of off|on');
    expect(problems({ AUTH_MODE: 'on', AUTH_OIDC_ISSUER: 'https://i.test' })).toContain(
      'AUTH_OIDC_ISSUER and AUTH_OIDC_AUDIENCE must be set together',
    );
    expect(problems({ AUTH_MODE: 'on', AUTH_OIDC_JWKS_URL: 'https://i.test/jwks' })).toContain(
      'AUTH_OIDC_JWKS_URL is set but AUTH_OIDC_ISSUER is not',
    );
    expect(problems({ TLS_CLIENT_CA_FILE: '/ca.pem' })).toContain(
      'TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE',
    );
    expect(problems({ AUTH_MODE: 'on', AUTH_ADMIN_PRINCIPALS: 'ops@corp.test' })).toContain(
      'AUTH_ADMIN_PRINCIPALS needs AUTH_OIDC_ISSUER or TLS_CLIENT_CA_FILE',
    );
    expect(problems({ AUTH_MODE: 'on', AUTH_WORKER_PRINCIPALS: 'spiffe://corp/w' })).toContain(
      'AUTH_WORKER_PRINCIPALS needs AUTH_OIDC_ISSUER or TLS_CLIENT_CA_FILE',
    );
    expect(problems({ AUTH_WORKER_PRINCIPALS: 'spiffe://corp/w' })).toMatch(
      /AUTH_WORKER_PRINCIPALS set while AUTH_MODE=off/,
    );
  });

  it('refuses identity settings while AUTH_MODE=off instead of running open', () => {
    expect(problems({ AUTH_BOOTSTRAP_ADMIN_KEY: KEY })).toContain(
      'AUTH_BOOTSTRAP_ADMIN_KEY set while AUTH_MODE=off (set AUTH_MODE=on to require credentials)',
    );
  });
});
