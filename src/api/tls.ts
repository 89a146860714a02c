/**
 * TLS server credentials that follow the certificate files (SPEC §6):
 * - an expired or not-yet-valid certificate is logged as an error at
 *   startup (and when a reload brings one, or the loaded one expires);
 * - TLS_CERT_FILE and TLS_KEY_FILE are re-read every TLS_RELOAD_INTERVAL; a
 *   changed pair that forms a usable context replaces the old one for new
 *   connections (rotation by cert-manager or a secret mount, no restart). A
 *   pair caught half-rotated (cert new, key old) is kept out until both fit.
 *
 * grpc-js's ServerCredentials.createSsl is fixed at bind time; its base
 * class lets a subclass push new secure-context options to the listening
 * server, which is what grpc-js's own certificate-provider credentials do.
 */

import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { TlsConfig } from '../config/index.js';
import { JackError } from '../errors.js';

type SecureContextWatcher = (context: SecureContextOptions | null) => void;

interface Pair {
  cert: Buffer;
  key: Buffer;
}

async function readNamed(variable: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new JackError(
      'failed_precondition',
      `${variable}=${path} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
      { cause: err },
    );
  }
}

async function readPair(tls: TlsConfig): Promise<Pair> {
  return {
    cert: await readNamed('TLS_CERT_FILE', tls.certFile),
    key: await readNamed('TLS_KEY_FILE', tls.keyFile),
  };
}

function contextOptions(pair: Pair, clientCa: Buffer | null): SecureContextOptions {
  return clientCa === null
    ? { cert: pair.cert, key: pair.key }
    : { cert: pair.cert, key: pair.key, ca: clientCa };
}

/** Throws when cert and key do not form a usable pair (grpc-js would only say so at bind). */
function checkPair(pair: Pair): void {
  try {
    createSecureContext({ cert: pair.cert, key: pair.key });
  } catch (err) {
    throw new JackError(
      'failed_precondition',
      `TLS_CERT_FILE/TLS_KEY_FILE are not a usable PEM pair: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Why the (leaf) certificate is not valid at `now`, or undefined when it is. */
export function certificateValidityProblem(cert: Buffer, now = new Date()): string | undefined {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    return undefined; // checkPair reports unusable PEM
  }
  const notBefore = new Date(x509.validFrom);
  const notAfter = new Date(x509.validTo);
  if (now > notAfter) return `the TLS certificate expired on ${notAfter.toISOString()}`;
  if (now < notBefore) return `the TLS certificate is not valid before ${notBefore.toISOString()}`;
  return undefined;
}

class ReloadingCredentials extends ServerCredentials {
  private timer: NodeJS.Timeout | undefined;
  private reported: string | undefined;

  constructor(
    private current: Pair,
    private readonly tls: TlsConfig,
    /** TLS_CLIENT_CA_FILE's certificates (SPEC §7.3), fixed; null without client certificates. */
    private readonly clientCa: Buffer | null,
    private readonly logger: Logger | undefined,
  ) {
    super(
      // As createSsl does: with a client CA, the handshake itself refuses
      // clients without a certificate it signed.
      { requestCert: clientCa !== null, rejectUnauthorized: clientCa !== null },
      contextOptions(current, clientCa),
    );
    this.reportValidity();
  }

  override _equals(other: ServerCredentials): boolean {
    return this === other;
  }

  /** The server binds: start following the files. */
  override _addWatcher(watcher: SecureContextWatcher): void {
    super._addWatcher(watcher);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.reload(), this.tls.reloadIntervalMs);
      this.timer.unref();
    }
  }

  /** The server closed: stop. */
  override _removeWatcher(watcher: SecureContextWatcher): void {
    super._removeWatcher(watcher);
    if (this.getWatcherCount() === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private reportValidity(): void {
    const problem = certificateValidityProblem(this.current.cert);
    if (problem !== undefined && problem !== this.reported) {
      this.logger?.error({ certFile: this.tls.certFile }, problem);
    }
    this.reported = problem;
  }

  private async reload(): Promise<void> {
    try {
      const next = await readPair(this.tls);
      if (next.cert.equals(this.current.cert) && next.key.equals(this.current.key)) {
        this.reportValidity();
        return;
      }
      checkPair(next);
      this.current = next;
      this.updateSecureContextOptions(contextOptions(next, this.clientCa));
      this.logger?.info({ certFile: this.tls.certFile }, 'TLS certificate reloaded');
      this.reportValidity();
    } catch (err) {
      // Half-rotated or unreadable for a moment: keep serving the last good pair.
      this.logger?.warn({ err }, 'TLS certificate not reloaded; keeping the current one');
    }
  }
}

/**
 * Credentials for `tls` (insecure when undefined). Fails at startup, naming
 * the variable, when the files cannot be read or do not form a pair.
 */
export async function serverCredentials(
  tls: TlsConfig | undefined,
  clientCaFile: string | undefined,
  logger?: Logger,
): Promise<ServerCredentials> {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const pair = await readPair(tls);
  checkPair(pair);
  let clientCa: Buffer | null = null;
  if (clientCaFile !== undefined) {
    clientCa = await readNamed('TLS_CLIENT_CA_FILE', clientCaFile);
    try {
      createSecureContext({ ca: clientCa });
    } catch (err) {
      throw new JackError(
        'failed_precondition',
        'TLS_CLIENT_CA_FILE is not a usable PEM certificate',
        {
          cause: err,
        },
      );
    }
  }
  return new ReloadingCredentials(pair, tls, clientCa, logger);
}
