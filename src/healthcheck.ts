/**
 * Container health probe: one grpc.health.v1 Check against the service in
 * this container, exit 0 only when it answers SERVING (Docker HEALTHCHECK:
 * `node dist/healthcheck.js [service]`, default service '' = the whole server).
 *
 * It reads the same environment as the service (GRPC_HOST, GRPC_PORT,
 * TLS_CERT_FILE), so it probes whatever the service listens on. With TLS it
 * does not verify the certificate: it talks to its own process on loopback,
 * where the certificate's name (issued for the public host) cannot match and
 * authenticity is not in question; only the health answer matters.
 */
import {
  type ChannelCredentials,
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  logVerbosity,
  Metadata,
  type ServiceClientConstructor,
  type ServiceError,
  setLogVerbosity,
} from '@grpc/grpc-js';
import { loadPackageDefinition as loadJackDefinition } from './api/proto.js';
import { loadConfig } from './config/index.js';

/** Well under Docker's default HEALTHCHECK --timeout (30s) and the one in our Dockerfile (5s). */
const DEADLINE_MS = 3_000;

/** Where to probe: a wildcard listen address is reached on loopback. */
function probeHost(grpcHost: string): string {
  if (grpcHost === '0.0.0.0' || grpcHost === '') return '127.0.0.1';
  if (grpcHost === '::' || grpcHost === '[::]') return '[::1]';
  return grpcHost.includes(':') && !grpcHost.startsWith('[') ? `[${grpcHost}]` : grpcHost;
}

function check(address: string, creds: ChannelCredentials, service: string): Promise<string> {
  const grpcNamespace = loadPackageDefinition(loadJackDefinition()).grpc as GrpcObject;
  const Health = ((grpcNamespace.health as GrpcObject).v1 as GrpcObject)
    .Health as ServiceClientConstructor;
  const client = new Health(address, creds);
  const stub = client as unknown as {
    check(
      request: { service: string },
      metadata: Metadata,
      options: { deadline: number },
      callback: (err: ServiceError | null, response: { status: string }) => void,
    ): void;
  };
  return new Promise<string>((resolve, reject) => {
    stub.check({ service }, new Metadata(), { deadline: Date.now() + DEADLINE_MS }, (err, res) =>
      err ? reject(err) : resolve(res.status),
    );
  }).finally(() => client.close());
}

async function main(): Promise<number> {
  // grpc-js would print its own errors; the probe prints one line of its own.
  setLogVerbosity(logVerbosity.NONE);
  const config = loadConfig(process.env);
  const service = process.argv[2] ?? '';
  const address = `${probeHost(config.grpcHost)}:${config.grpcPort}`;
  const creds =
    config.tls === undefined
      ? credentials.createInsecure()
      : credentials.createSsl(null, null, null, { rejectUnauthorized: false });
  try {
    const status = await check(address, creds, service);
    process.stdout.write(`${address} ${service === '' ? '(server)' : service}: ${status}\n`);
    return status === 'SERVING' ? 0 : 1;
  } catch (err) {
    const e = err as Partial<ServiceError> & Error;
    process.stderr.write(`${address} health check failed: ${e.details ?? e.message}\n`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`health check failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
