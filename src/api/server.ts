import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createSecureContext } from 'node:tls';
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { HealthImplementation } from 'grpc-health-check';
import type { TlsConfig } from '../config.js';
import { JackError } from '../errors.js';
import type { CallTracker } from './call-tracker.js';
import { loadReflectionDefinition } from './reflection.js';

/** A service ready for grpc-js: see `bindService` in pipeline.ts. */
export interface BoundService {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface GrpcServerDeps {
  /** jack.BackgroundJobs and jack.AdminService, bound to the call pipeline. */
  services: readonly BoundService[];
  health: HealthImplementation;
  calls: CallTracker;
  maxReceiveBytes: number;
  tls: TlsConfig | undefined;
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

async function credentials(
  tls: TlsConfig | undefined,
  clientCaFile: string | undefined,
): Promise<ServerCredentials> {
  if (tls === undefined) return ServerCredentials.createInsecure();
  const read = async (variable: string, path: string) => {
    try {
      return await readFile(path);
    } catch (err) {
      throw new JackError(
        'failed_precondition',
        `${variable}=${path} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
        {
          cause: err,
        },
      );
    }
  };
  const [cert, key] = [
    await read('TLS_CERT_FILE', tls.certFile),
    await read('TLS_KEY_FILE', tls.keyFile),
  ];
  // identity (SPEC §7.3): with a client CA, the handshake itself refuses clients without a valid certificate.
  const clientCa =
    clientCaFile === undefined ? null : await read('TLS_CLIENT_CA_FILE', clientCaFile);
  if (clientCa !== null) {
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
  try {
    // grpc-js only parses the PEM when binding, and then names no variable:
    // build a context now so a bad pair is reported against its settings.
    createSecureContext({ cert, key });
    return ServerCredentials.createSsl(
      clientCa,
      [{ cert_chain: cert, private_key: key }],
      clientCa !== null,
    );
  } catch (err) {
    throw new JackError(
      'failed_precondition',
      `TLS_CERT_FILE/TLS_KEY_FILE are not a usable PEM pair: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** One port: jack.BackgroundJobs, jack.AdminService, grpc.health.v1 and reflection (v1, v1alpha). */
export function createGrpcServer(deps: GrpcServerDeps): GrpcServer {
  const server = new Server({
    'grpc.max_receive_message_length': deps.maxReceiveBytes,
    'grpc.max_send_message_length': deps.maxReceiveBytes,
  });
  for (const service of deps.services)
    server.addService(service.definition, service.implementation);
  deps.health.addToServer(server);
  new ReflectionService(loadReflectionDefinition()).addToServer(server);
  let stopping: Promise<void> | undefined;

  return {
    async listen(host, port) {
      const creds = await credentials(deps.tls, deps.clientCaFile);
      const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
      return new Promise<number>((resolve, reject) => {
        server.bindAsync(address, creds, (err, boundPort) => {
          if (err)
            reject(
              new JackError('failed_precondition', `cannot listen on ${address}: ${err.message}`, {
                cause: err,
              }),
            );
          else resolve(boundPort);
        });
      });
    },
    shutdown(graceMs) {
      stopping ??= (async () => {
        const drained = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        });
        // Once the last unary call has answered, give its response a moment
        // to leave the socket before streams are cut.
        const answered = deps.calls.idle().then(() => sleep(Math.min(200, graceMs)));
        await Promise.race([drained, answered, deadline]);
        clearTimeout(timer);
        server.forceShutdown();
      })();
      return stopping;
    },
  };
}
