import { setTimeout as sleep } from 'node:timers/promises';
import { Server, type ServerCredentials } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { Http2Limits, TlsConfig } from '../config/index.js';
import { JackError } from '../errors.js';
import { withTimeout } from '../timeout.js';
import type { CallTracker } from './call-tracker.js';
import type { BoundService } from './pipeline.js';
import { loadReflectionDefinition } from './reflection.js';
import { serverCredentials } from './tls.js';

/** A service ready for grpc-js (and the HTTP transport): see `bindService` in pipeline.ts. */
export type { BoundService } from './pipeline.js';

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

/** Reloading TLS credentials (src/api/tls.ts), or insecure ones without TLS. */
function credentials(
  tls: TlsConfig | undefined,
  clientCaFile: string | undefined,
  logger?: Logger,
): Promise<ServerCredentials> {
  return serverCredentials(tls, clientCaFile, logger);
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
    // an Enqueue's CPU (docs/PERFORMANCE.md).
    'grpc.enable_channelz': 0,
  });
  for (const service of deps.services)
    server.addService(service.definition, service.implementation);
  deps.health.addToServer(server);
  new ReflectionService(loadReflectionDefinition()).addToServer(server);
  let stopping: Promise<void> | undefined;

  return {
    async listen(host, port) {
      const creds = await credentials(deps.tls, deps.clientCaFile, deps.logger);
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(address, creds, (err, boundPort) => {
          if (err) reject(listenError(address, err));
          else resolve(boundPort);
        });
      });
    },
    shutdown(graceMs) {
      stopping ??= (async () => {
        const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        // Once the last unary call has answered, give its response a moment
        // to leave the socket before streams are cut.
        const answered = deps.calls.idle().then(() => sleep(Math.min(200, graceMs)));
        await withTimeout(Promise.race([drained, answered]), graceMs, () => undefined);
        server.forceShutdown();
      })();
      return stopping;
    },
  };
}
