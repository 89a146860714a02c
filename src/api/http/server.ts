/**
 * The HTTP port (SPEC §18): Connect, gRPC-Web, `/healthz`, `/readyz` and a
 * place for the console's static files, on HTTP/1.1 and HTTP/2 (h2c, or
 * TLS with ALPN) at once.
 *
 * One listener in front decides per connection: with TLS by ALPN, without by
 * the HTTP/2 preface (`PRI * HTTP/2.0`), then hands the socket to Node's
 * http or http2 server. Node's own `allowHTTP1` would do the same for TLS
 * only, and hides the HTTP/1.1 limits (headers timeout, header size and
 * count, keep-alive) that this keeps in plain sight; the front listener also
 * caps open connections (`maxConnections`) for both.
 */
import http, { type IncomingMessage } from 'node:http';
import http2, { type Http2ServerRequest } from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { SecureContextWatcher } from '@grpc/grpc-js/build/src/server-credentials.js';
import type { Logger } from 'pino';
import type { HttpConfig, TlsConfig } from '../../config/index.js';
import { JackError } from '../../errors.js';
import { withTimeout } from '../../timeout.js';
import type { CallTracker } from '../call-tracker.js';
import type { BoundedHealth } from '../health-service.js';
import type { BoundService } from '../pipeline.js';
import { serverCredentials } from '../tls.js';
import { connectRoutes, contextValuesOf, healthRoutes, ownDecodeErrors } from './connect.js';

export type HttpRequest = IncomingMessage | Http2ServerRequest;
/** What Jack writes on a response, for HTTP/1.1 and HTTP/2 alike. */
export interface HttpResponse {
  setHeader(name: string, value: string): unknown;
  writeHead(status: number, headers?: Record<string, string>): unknown;
  end(body?: string | Uint8Array): unknown;
}
/** Answers a request that is neither an RPC nor a probe. */
export type StaticHandler = (req: HttpRequest, res: HttpResponse) => void;

export interface HttpServerDeps {
  /** The same BoundServices grpc-js serves (pipeline.ts). */
  services: readonly BoundService[];
  health: BoundedHealth;
  calls: CallTracker;
  config: HttpConfig;
  /** GRPC_MAX_RECEIVE_BYTES: the same cap on a request body. */
  maxReceiveBytes: number;
  tls: TlsConfig | undefined;
  clientCaFile: string | undefined;
  logger: Logger;
  /** Counts connections refused beyond HTTP_MAX_CONNECTIONS (listener "http"). */
  onConnectionRefused?: () => void;
  /**
   * The console's files at `/` (SPEC §18, a later step). Absent: 404. It is
   * given every GET that is not a probe; RPCs never reach it.
   */
  staticHandler?: StaticHandler;
}

export interface HttpServer {
  /** Binds and resolves with the bound port (`port` 0 picks a free one). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting, lets unary calls finish up to `graceMs`, then closes every connection. */
  shutdown(graceMs: number): Promise<void>;
}

/** The HTTP/2 connection preface starts with these bytes; no HTTP/1 method does. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** Longest a request may take to arrive in full once its headers have (slow bodies), ms. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Headers a browser may send and read cross-origin (Connect's and gRPC-Web's, and Jack's). */
const CORS_ALLOW_HEADERS = [
  'content-type',
  'connect-protocol-version',
  'connect-timeout-ms',
  'x-grpc-web',
  'x-user-agent',
  'grpc-timeout',
  'authorization',
  'x-request-id',
  'idempotency-key',
  'traceparent',
  'tracestate',
].join(', ');
const CORS_EXPOSE_HEADERS = [
  'x-request-id',
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
].join(', ');

function notFound(_req: HttpRequest, res: HttpResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
}

function listenError(address: string, err: NodeJS.ErrnoException): JackError {
  const why =
    err.code === 'EADDRINUSE'
      ? 'the port is already in use (HTTP_PORT)'
      : err.code === 'EACCES'
        ? 'no permission to use the port (HTTP_PORT below 1024 needs privileges)'
        : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND'
          ? 'no such local address (GRPC_HOST)'
          : 'the address cannot be bound';
  return new JackError('failed_precondition', `cannot listen on ${address}: ${why}`, {
    cause: err,
  });
}

/**
 * Reads a plaintext connection's first bytes, enough to tell the HTTP/2
 * preface from an HTTP/1 request line, then puts them back. A client that
 * sends nothing is closed after `timeoutMs`.
 */
function sniff(socket: net.Socket, timeoutMs: number, route: (h2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const done = () => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', done);
  };
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const h2 = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (h2 && n < H2_PREFACE.length) return; // so far a preface: wait for the rest
    done();
    socket.pause();
    socket.unshift(seen);
    route(h2);
  };
  socket.on('data', onData);
  socket.on('close', done);
  socket.on('error', () => socket.destroy());
}

export function createHttpServer(deps: HttpServerDeps): HttpServer {
  const { config, health, logger } = deps;
  const staticHandler = deps.staticHandler ?? notFound;
  const allowedOrigins = new Set(config.corsOrigins);

  const connect = connectNodeAdapter({
    routes: (router) => {
      connectRoutes(deps.services, deps.calls)(router);
      healthRoutes(health)(router);
      ownDecodeErrors(router);
    },
    // gRPC itself is grpc-js's, on GRPC_PORT.
    grpc: false,
    grpcWeb: true,
    connect: true,
    readMaxBytes: deps.maxReceiveBytes,
    contextValues: contextValuesOf,
    fallback: (req, res) => {
      const reply = res as unknown as HttpResponse;
      if (req.method === 'GET' || req.method === 'HEAD') staticHandler(req, reply);
      else notFound(req, reply);
    },
  });

  /** CORS for HTTP_CORS_ORIGINS only; true when the request was a preflight and is answered. */
  const cors = (req: HttpRequest, res: HttpResponse): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return false;
    const allowed = allowedOrigins.has(origin);
    if (allowed) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', CORS_EXPOSE_HEADERS);
      res.setHeader('vary', 'Origin');
    }
    if (req.method !== 'OPTIONS') return false;
    if (allowed) {
      res.setHeader('access-control-allow-methods', 'POST, GET');
      res.setHeader('access-control-allow-headers', CORS_ALLOW_HEADERS);
      res.setHeader('access-control-max-age', '7200');
    }
    res.writeHead(allowed ? 204 : 403);
    res.end();
    return true;
  };

  const handle = (req: HttpRequest, res: http.ServerResponse | http2.Http2ServerResponse) => {
    const reply = res as unknown as HttpResponse;
    if (cors(req, reply)) return;
    const path = (req.url ?? '/').split('?', 1)[0];
    const probe = req.method === 'GET' || req.method === 'HEAD';
    if (probe && (path === '/healthz' || path === '/readyz')) {
      // healthz: the process answers. readyz: what grpc.health.v1 says for "".
      const ready = path === '/healthz' || health.statusOf('') === 'SERVING';
      reply.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8' });
      reply.end(ready ? 'ok\n' : 'not serving\n');
      return;
    }
    connect(req, res);
  };

  const h1 = http.createServer(
    {
      maxHeaderSize: config.maxHeaderBytes,
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: Math.max(REQUEST_TIMEOUT_MS, config.headersTimeoutMs + 1),
      keepAliveTimeout: config.idleTimeoutMs,
      // How often Node checks the two timeouts above.
      connectionsCheckingInterval: Math.min(1_000, config.headersTimeoutMs),
    },
    handle,
  );
  h1.maxHeadersCount = config.maxHeadersCount;
  // h1 never listens (connections are handed to it after the sniff), and
  // Node starts the checks of headersTimeout and requestTimeout on
  // 'listening' (setupConnectionsTracking): without this a slow-loris client
  // kept its half-sent headers open forever. h1.close() stops the checks.
  h1.emit('listening');
  h1.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    // Node's own answers (431, 408, 400), without its error text.
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    // Closed once the answer is out, whether or not the peer reads or stops sending.
    socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`, () =>
      socket.destroy(),
    );
  });

  const h2 = http2.createServer(
    {
      maxHeaderListPairs: config.maxHeadersCount,
      maxSendHeaderBlockLength: config.maxHeaderBytes,
      settings: { maxConcurrentStreams: 100, maxHeaderListSize: config.maxHeaderBytes },
      maxSessionMemory: 10,
    },
    handle,
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    // An h2 connection without any frame for this long is closed (HTTP_IDLE_TIMEOUT).
    session.setTimeout(config.idleTimeoutMs, () => session.close());
  });

  const sockets = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };

  let front: net.Server | undefined;
  let stopRotation: (() => void) | undefined;
  let stopping: Promise<void> | undefined;

  return {
    async listen(host, port) {
      if (deps.tls === undefined) {
        front = net.createServer((socket) => {
          track(socket);
          sniff(socket, config.headersTimeoutMs, (isH2) => {
            (isH2 ? h2 : h1).emit('connection', socket);
            // http2 reads the bytes put back itself; http's parser takes them from 'data'.
            if (!isH2) socket.resume();
          });
        });
      } else {
        // The gRPC certificate pair, reloaded when it rotates (src/api/tls.ts).
        const creds = await serverCredentials(deps.tls, deps.clientCaFile, logger);
        const secure = tls.createServer({
          ...creds._getConstructorOptions(),
          ...creds._getSecureContextOptions(),
          ALPNProtocols: ['h2', 'http/1.1'],
          handshakeTimeout: config.headersTimeoutMs,
        });
        secure.on('secureConnection', (socket: tls.TLSSocket) => {
          track(socket);
          (socket.alpnProtocol === 'h2' ? h2 : h1).emit('connection', socket);
        });
        secure.on('tlsClientError', (err) => logger.debug({ err }, 'HTTP TLS handshake failed'));
        const watcher: SecureContextWatcher = (options) => {
          if (options !== null) secure.setSecureContext(options);
        };
        creds._addWatcher(watcher);
        stopRotation = () => creds._removeWatcher(watcher);
        front = secure;
      }
      const server = front;
      server.maxConnections = config.maxConnections;
      // Node closes a connection beyond maxConnections at once and says so with 'drop'.
      server.on('drop', () => deps.onConnectionRefused?.());
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      return new Promise<number>((resolve, reject) => {
        server.once('error', (err) => {
          stopRotation?.();
          reject(listenError(address, err));
        });
        server.listen({ host, port }, () => resolve((server.address() as net.AddressInfo).port));
      });
    },
    shutdown(graceMs) {
      stopping ??= (async () => {
        stopRotation?.();
        front?.close();
        h1.closeIdleConnections();
        for (const session of sessions) session.close(); // GOAWAY: no new streams
        await withTimeout(deps.calls.idle(), graceMs, () => undefined);
        for (const socket of sockets) socket.destroy();
        h1.closeAllConnections();
        h1.close();
      })();
      return stopping;
    },
  };
}
