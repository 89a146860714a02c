/**
 * The tests' one grpc.health.v1 client, from the health proto shipped with
 * grpc-health-check (the same file the server registers): Check, Watch, and
 * a poll until a status is reached (what an operator's probe would see).
 */
import { setTimeout as sleep } from 'node:timers/promises';
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
  check(service: string, deadlineMs?: number): Promise<ServingStatus>;
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
    check(service, deadlineMs = 10_000) {
      return new Promise((resolve, reject) => {
        stub.check(
          { service },
          new Metadata(),
          { deadline: Date.now() + deadlineMs },
          (err, res) => (err ? reject(err) : resolve(res.status)),
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

/** One Check call on a fresh client; the status name. */
export async function healthStatus(address: string, service = ''): Promise<ServingStatus> {
  const client = createHealthClient(address);
  try {
    return await client.check(service, 5_000);
  } finally {
    client.close();
  }
}

/**
 * Polls Check until `service` reports `expected`; throws with the last seen
 * status when it does not within `timeoutMs`.
 */
export async function waitForHealth(
  address: string,
  expected: ServingStatus,
  service = '',
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: string | undefined;
  while (Date.now() < deadline) {
    try {
      last = await healthStatus(address, service);
      if (last === expected) return;
    } catch (err) {
      // A Check that timed out on a starved machine is "not yet", not a verdict.
      last = `an error (${(err as Error).message})`;
    }
    await sleep(100);
  }
  throw new Error(`health of '${service}' stayed ${last ?? '?'}, expected ${expected}`);
}
