/**
 * A grpc.health.v1 client from the health proto shipped with
 * grpc-health-check (the same file the server registers).
 */
import {
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadPackageDefinition as loadJackDefinition } from '../../src/api/proto.js';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface HealthStub {
  check(
    request: { service: string },
    metadata: Metadata,
    options: { deadline: number },
    callback: (err: ServiceError | null, response: { status: ServingStatus }) => void,
  ): void;
  watch(request: { service: string }): ClientReadableStream<{ status: ServingStatus }>;
  close(): void;
}

export interface HealthClient {
  /** Resolves with the status; rejects with the ServiceError (e.g. NOT_FOUND). */
  check(service: string): Promise<ServingStatus>;
  /** Opens a Watch stream; every status it sends is pushed to `statuses`. */
  watch(service: string): HealthWatch;
  close(): void;
}

export interface HealthWatch {
  readonly statuses: ServingStatus[];
  /** Resolves once `statuses` holds `status` (already or later). */
  until(status: ServingStatus): Promise<void>;
  /** Resolves with the error that ended the stream (or undefined on a clean end). */
  readonly ended: Promise<ServiceError | undefined>;
  cancel(): void;
}

export function createHealthClient(
  address: string,
  creds: ChannelCredentials = credentials.createInsecure(),
  options: ChannelOptions = {},
): HealthClient {
  const grpcNamespace = loadPackageDefinition(loadJackDefinition()).grpc as GrpcObject;
  const health = (grpcNamespace.health as GrpcObject).v1 as GrpcObject;
  const Ctor = health.Health as ServiceClientConstructor;
  const stub = new Ctor(address, creds, options) as unknown as HealthStub;
  return {
    check(service) {
      return new Promise((resolve, reject) => {
        stub.check({ service }, new Metadata(), { deadline: Date.now() + 10_000 }, (err, res) =>
          err ? reject(err) : resolve(res.status),
        );
      });
    },
    watch(service) {
      const stream = stub.watch({ service });
      const statuses: ServingStatus[] = [];
      const waiters: Array<{ status: ServingStatus; resolve: () => void }> = [];
      stream.on('data', (response: { status: ServingStatus }) => {
        statuses.push(response.status);
        for (const w of waiters.filter((w) => w.status === response.status)) w.resolve();
      });
      const ended = new Promise<ServiceError | undefined>((resolve) => {
        stream.on('error', (err: ServiceError) => resolve(err));
        stream.on('end', () => resolve(undefined));
      });
      return {
        statuses,
        ended,
        until(status) {
          if (statuses.includes(status)) return Promise.resolve();
          return new Promise((resolve, reject) => {
            waiters.push({ status, resolve });
            void ended.then((err) =>
              reject(new Error(`watch ended before ${status} (${err?.message ?? 'clean end'})`)),
            );
          });
        },
        cancel() {
          stream.cancel();
        },
      };
    },
    close() {
      stub.close();
    },
  };
}
