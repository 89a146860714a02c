/** The server section: HTTP/2 bounds of a connection (SPEC §6) and TLS. */
import { DEFAULTS } from './defaults.js';
import type { Parser } from './parser.js';

export interface Http2Limits {
  maxConcurrentStreams: number;
  maxConnectionIdleMs: number;
  maxConnectionAgeMs: number;
  maxConnectionAgeGraceMs: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  maxSessionMemoryMiB: number;
  /** TCP connections open at once on the port; more are closed at once (and counted). */
  maxConnections: number;
  /** A connection whose peer has not acknowledged Jack's HTTP/2 SETTINGS by then is closed, ms. */
  handshakeTimeoutMs: number;
}

export interface TlsConfig {
  certFile: string;
  keyFile: string;
  /** How often the two files are re-read for a rotated pair, ms. */
  reloadIntervalMs: number;
}

export function parseHttp2Limits(p: Parser): Http2Limits {
  const d = DEFAULTS.http2;
  return {
    maxConcurrentStreams: p.positiveInt('GRPC_MAX_CONCURRENT_STREAMS') ?? d.maxConcurrentStreams,
    maxConnectionIdleMs: p.positiveDuration('GRPC_MAX_CONNECTION_IDLE') ?? d.maxConnectionIdleMs,
    maxConnectionAgeMs: p.positiveDuration('GRPC_MAX_CONNECTION_AGE') ?? d.maxConnectionAgeMs,
    maxConnectionAgeGraceMs:
      p.duration('GRPC_MAX_CONNECTION_AGE_GRACE') ?? d.maxConnectionAgeGraceMs,
    keepaliveTimeMs: p.positiveDuration('GRPC_KEEPALIVE_TIME') ?? d.keepaliveTimeMs,
    keepaliveTimeoutMs: p.positiveDuration('GRPC_KEEPALIVE_TIMEOUT') ?? d.keepaliveTimeoutMs,
    maxSessionMemoryMiB: p.positiveInt('GRPC_MAX_SESSION_MEMORY_MIB') ?? d.maxSessionMemoryMiB,
    maxConnections: p.positiveInt('GRPC_MAX_CONNECTIONS') ?? d.maxConnections,
    handshakeTimeoutMs: p.positiveDuration('GRPC_HANDSHAKE_TIMEOUT') ?? d.handshakeTimeoutMs,
  };
}

/** TLS_CERT_FILE and TLS_KEY_FILE, both or neither; undefined = plaintext. */
export function parseTls(p: Parser): TlsConfig | undefined {
  const certFile = p.string('TLS_CERT_FILE');
  const keyFile = p.string('TLS_KEY_FILE');
  let tls: TlsConfig | undefined;
  const tlsReloadIntervalMs =
    p.positiveDuration('TLS_RELOAD_INTERVAL') ?? DEFAULTS.tlsReloadIntervalMs;
  if (certFile !== undefined && keyFile !== undefined) {
    tls = { certFile, keyFile, reloadIntervalMs: tlsReloadIntervalMs };
  } else if (certFile !== undefined || keyFile !== undefined) {
    p.problem('TLS_CERT_FILE and TLS_KEY_FILE must be set together (both or neither)');
  }
  return tls;
}
