/**
 * grpc.health.v1 Check from a test: the status an operator's probe would
 * see, polled until it reaches the expected value.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, makeClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN';

interface HealthClient {
  check(
    request: { service: string },
    options: { deadline: number },
    callback: (err: ServiceError | null, response?: { status: HealthStatus | number }) => void,
  ): void;
  close(): void;
}

const HealthClientConstructor = makeClientConstructor(healthService, 'grpc.health.v1.Health');

/** One Check call; the status name. */
export async function healthStatus(address: string, service = ''): Promise<HealthStatus> {
  const client = new HealthClientConstructor(
    address,
    credentials.createInsecure(),
  ) as unknown as HealthClient;
  try {
    return await new Promise((resolve, reject) => {
      client.check({ service }, { deadline: Date.now() + 5_000 }, (err, response) => {
        if (err) reject(err);
        else resolve(response?.status as HealthStatus);
      });
    });
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
  expected: HealthStatus,
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
