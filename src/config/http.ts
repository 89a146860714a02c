/** The HTTP section (SPEC §18): Connect, gRPC-Web and probes on a second port, off by default. */
import { DEFAULTS } from './defaults.js';
import type { Parser } from './parser.js';

export interface HttpConfig {
  /** HTTP_PORT: HTTP/1.1 and h2c (or TLS, with the gRPC certificate) on GRPC_HOST. */
  port: number;
  /** HTTP_CORS_ORIGINS: exact origins allowed to call cross-origin; empty = none. */
  corsOrigins: readonly string[];
  /** HTTP_MAX_CONNECTIONS: open connections beyond this are closed at once. */
  maxConnections: number;
  /** HTTP_HEADERS_TIMEOUT: a request's headers must arrive within this (slow-loris), ms. */
  headersTimeoutMs: number;
  /** HTTP_IDLE_TIMEOUT: an idle keep-alive connection is closed after this, ms. */
  idleTimeoutMs: number;
  /** Largest request head, bytes (fixed: Node's own 16 KiB). */
  maxHeaderBytes: number;
  /** Most request headers (fixed). */
  maxHeadersCount: number;
}

/** `https://console.example.com` or `http://localhost:5173`: scheme, host, optional port, nothing else. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

/** undefined when HTTP_PORT is unset (the HTTP transport is off). */
export function parseHttp(p: Parser): HttpConfig | undefined {
  const port = p.port('HTTP_PORT');
  const origins = (p.string('HTTP_CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of origins) {
    if (!ORIGIN.test(origin)) {
      p.problem(
        `HTTP_CORS_ORIGINS: ${JSON.stringify(origin.slice(0, 100))} is not an origin like https://console.example.com`,
      );
    }
  }
  const d = DEFAULTS.http;
  const config: HttpConfig = {
    port: port ?? 0,
    corsOrigins: origins,
    maxConnections: p.positiveInt('HTTP_MAX_CONNECTIONS') ?? d.maxConnections,
    headersTimeoutMs: p.positiveDuration('HTTP_HEADERS_TIMEOUT') ?? d.headersTimeoutMs,
    idleTimeoutMs: p.positiveDuration('HTTP_IDLE_TIMEOUT') ?? d.idleTimeoutMs,
    maxHeaderBytes: d.maxHeaderBytes,
    maxHeadersCount: d.maxHeadersCount,
  };
  return port === undefined ? undefined : config;
}
