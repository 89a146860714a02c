import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { noopMetrics } from '../metrics.js';
import type { Backend } from '../queue/backend.js';
import type { Store } from '../storage/store.js';
import { createHealthMonitor, SERVICE_ADMIN, SERVICE_JOBS } from './health.js';

/** A backend whose check takes `checkMs` (forever when undefined). */
function backendAnsweringAfter(checkMs: number | undefined): Backend {
  return {
    kind: 'test',
    publish: async () => 'id',
    publishMany: async (messages) => messages.map(() => ({ status: 'fulfilled', value: 'id' })),
    check: () =>
      checkMs === undefined ? new Promise(() => {}) : sleep(checkMs).then(() => undefined),
    close: async () => {},
  };
}

const healthyStore = { lastRefreshError: () => undefined } as unknown as Store;

function monitor(backend: Backend, intervalMs: number) {
  const statuses = new Map<string, boolean>();
  const health = createHealthMonitor({
    backend,
    scheduler: undefined,
    store: healthyStore,
    intervalMs,
    logger: pino({ level: 'silent' }),
    maxWatchesPerConnection: 16,
    metrics: {
      ...noopMetrics,
      healthChanged: (service, serving) => statuses.set(service, serving),
    },
  });
  return { health, statuses };
}

describe('health monitor', () => {
  it('does not fail a slow but healthy check just because the interval is short', async () => {
    // 300 ms is slower than the 100 ms interval but well within the 2 s floor.
    const { health, statuses } = monitor(backendAnsweringAfter(300), 100);
    await health.checkNow();
    expect(statuses.get(SERVICE_JOBS)).toBe(true);
    expect(statuses.get('')).toBe(true);
    expect(statuses.get(SERVICE_ADMIN)).toBe(true);
  });

  it('counts a check that never answers as failed (after the 2 s floor)', async () => {
    const { health, statuses } = monitor(backendAnsweringAfter(undefined), 100);
    await health.checkNow();
    expect(statuses.get(SERVICE_JOBS)).toBe(false);
    expect(statuses.get('')).toBe(false);
    // The store is fine: admin calls are still served.
    expect(statuses.get(SERVICE_ADMIN)).toBe(true);
  });

  it('reports NOT_SERVING for everything once shut down, and checks no more', async () => {
    const { health, statuses } = monitor(backendAnsweringAfter(0), 20);
    await health.checkNow();
    health.start();
    health.shutDown();
    await sleep(100);
    expect([...statuses.values()]).toEqual([false, false, false, false]);
  });
});
