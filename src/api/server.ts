import type { Http2Server } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server, type ServerCredentials } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { Http2Limits, TlsConfig } from '../config/index.js';
import { type ConnectionGuard, guardConnections, watchHandshake } from '../connection-guard.js';
import { JackError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { withTimeout } from '../timeout.js';
import type { CallTracker } from './call-tracker.js';
import type { BoundService } from './pipeline.js';
import { loadReflectionDefinition } from './reflection.js';
import { serverCredentials } from './tls.js';

export interface GrpcServerDeps {
  /** jack.BackgroundJobs and jack.AdminService, bound to the call pipeline. */
  services: readonly BoundService[];
  health: HealthImplementation;
  calls: CallTracker;
  maxReceiveBytes: number;
  http2: Http2Limits;
  tls: TlsConfig | undefined;
  /** For TLS: an expired certificate, a reloaded one. */
  logger?: Logger;
  /** TLS_CLIENT_CA_FILE (SPEC §7.3): clients without a certificate signed by it fail the handshake. */
  clientCaFile?: string | undefined;
  /** Counts refused connections. */
  metrics?: Metrics;
}

export interface GrpcServer {
  /** Binds and resolves with the bound port (`port` 0 picks a free one). */
  listen(host: string, port: number): Promise<number>;
  /**
   * Stops accepting calls, waits for unary calls in flight up to `graceMs`,
   * then closes every remaining stream (health watches). Safe to call twice.
   */
  shutdown(graceMs: number): Promise<void>;
}

/**
 * After Jack ended its side of a connection, how long the peer has to close
 * its own before the socket is destroyed, ms: enough for a GOAWAY and the
 * last frames to be read by a live client.
 */
const CLOSE_GRACE_MS = 2_000;

/**
 * grpc-js takes connections from a listener Jack owns
 * (`createConnectionInjector`), so that the connection limits
 * (connection-guard.ts) apply to every socket. The handshake timeout needs
 * each HTTP/2 session, which grpc-js does not hand out: it is the injector's
 * own http2 server, found in grpc-js's table of servers.
 */
function createInjector(server: Server, creds: ServerCredentials, handshakeTimeoutMs: number) {
  const servers = (server as unknown as { http2Servers?: unknown }).http2Servers;
  if (!(servers instanceof Map)) {
    throw new Error('this grpc-js has no Server.http2Servers: the handshake timeout cannot apply');
  }
  const before = new Set(servers.keys());
  const injector = server.createConnectionInjector(creds);
  const http2Server = [...servers.keys()].find((s) => !before.has(s)) as Http2Server | undefined;
  if (http2Server === undefined) {
    throw new Error(
      'grpc-js created no http2 server for the injector: the handshake timeout cannot apply',
    );
  }
  http2Server.on('session', (session) => watchHandshake(session, handshakeTimeoutMs));
  return injector;
}

/**
 * grpc-js says "No address added out of total 1 resolved errors: [listen
 * EADDRINUSE …]": the operator gets one sentence of Jack's own instead.
 */
function listenError(address: string, err: Error): JackError {
  const why = /EADDRINUSE/.test(err.message)
    ? 'the port is already in use (GRPC_PORT)'
    : /EACCES/.test(err.message)
      ? 'no permission to use the port (GRPC_PORT below 1024 needs privileges)'
      : /EADDRNOTAVAIL|ENOTFOUND/.test(err.message)
        ? 'no such local address (GRPC_HOST)'
        : 'the address cannot be bound';
  return new JackError('failed_precondition', `cannot listen on ${address}: ${why}`, {
    cause: err,
  });
}

/** One port: jack.BackgroundJobs, jack.AdminService, grpc.health.v1 and reflection (v1, v1alpha). */
export function createGrpcServer(deps: GrpcServerDeps): GrpcServer {
  const limits = deps.http2;
  const server = new Server({
    'grpc.max_receive_message_length': deps.maxReceiveBytes,
    'grpc.max_send_message_length': deps.maxReceiveBytes,
    // SPEC §6: bound what one connection can make Jack hold. Streams that
    // never send a body count against max_concurrent_streams; responses a
    // client never reads count against the session memory (Node refuses new
    // streams beyond it, grpc-js leaves it unlimited by default); idle,
    // abandoned and vanished connections are closed by idle time, age and
    // keepalive.
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc-node.max_session_memory': limits.maxSessionMemoryMiB,
    'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs,
    'grpc.max_connection_age_ms': limits.maxConnectionAgeMs,
    'grpc.max_connection_age_grace_ms': limits.maxConnectionAgeGraceMs,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    // Jack serves no channelz service, and grpc-js's channelz bookkeeping
    // (counters and a Date per call, per-session trackers) cost about 5 % of
    // an Enqueue's CPU (docs/performance.md).
    'grpc.enable_channelz': 0,
  });
  for (const service of deps.services)
    server.addService(service.definition, service.implementation);
  deps.health.addToServer(server);
  new ReflectionService(loadReflectionDefinition()).addToServer(server);
  let stopping: Promise<void> | undefined;
  let listener: NetServer | undefined;
  let guard: ConnectionGuard | undefined;

  return {
    async listen(host, port) {
      const creds = await serverCredentials(deps.tls, deps.clientCaFile, deps.logger);
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      const injector = createInjector(server, creds, limits.handshakeTimeoutMs);
      const net = createNetServer();
      const connections = guardConnections(
        net,
        {
          maxConnections: limits.maxConnections,
          closeGraceMs: CLOSE_GRACE_MS,
          handshakeTimeoutMs: limits.handshakeTimeoutMs,
        },
        { refused: () => deps.metrics?.connectionRefused('grpc') },
      );
      net.on('connection', (socket) => {
        connections.accepted(socket);
        injector.injectConnection(socket);
      });
      listener = net;
      guard = connections;
      let listening = false;
      return new Promise<number>((resolve, reject) => {
        net.on('error', (err) => {
          if (!listening) reject(listenError(address, err));
          // Accepting failed (EMFILE: out of file descriptors): Node keeps listening.
          else deps.logger?.warn({ err }, 'could not accept a connection');
        });
        net.listen(port, host, () => {
          listening = true;
          const bound = net.address();
          resolve(typeof bound === 'object' && bound !== null ? bound.port : port);
        });
      });
    },
    shutdown(graceMs) {
      stopping ??= (async () => {
        // grpc-js's own shutdown sends GOAWAY but does not wait for the
        // connections of an injector; our listener's close does: it calls
        // back once the last accepted socket has closed.
        const closed = new Promise<void>((resolve) => {
          if (listener === undefined) resolve();
          else listener.close(() => resolve());
        });
        const drained = Promise.all([
          closed,
          new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
        ]);
        // Once the last unary call has answered, give its response a moment
        // to leave the socket before streams are cut.
        const answered = deps.calls.idle().then(() => sleep(Math.min(200, graceMs)));
        await withTimeout(Promise.race([drained, answered]), graceMs, () => undefined);
        server.forceShutdown();
        guard?.destroyAll();
      })();
      return stopping;
    },
  };
}
