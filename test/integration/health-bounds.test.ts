/**
 * SPEC §6 health bounds: unknown service names keep nothing per name, one
 * connection holds a bounded number of Watch streams.
 */
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthClient } from '../support/health-client.js';
import { callError, type RunningJack, startJack } from '../support/jack.js';

describe('health bounds', () => {
  let jack: RunningJack | undefined;
  afterEach(async () => {
    await jack?.close();
    jack = undefined;
  });

  it('answers unknown names NOT_FOUND / SERVICE_UNKNOWN without keeping the names', async () => {
    jack = await startJack();
    const implementation = jack.app.health.implementation;
    // grpc-health-check's own bookkeeping, which kept every watched name forever.
    const internals = implementation as unknown as {
      watchers: Map<string, unknown>;
      statusMap: Map<string, unknown>;
    };
    const health = createHealthClient(jack.address);
    try {
      const huge = 'x'.repeat(256 * 1024);
      const err = await callError(health.check(huge));
      expect(err).toEqual({ code: status.NOT_FOUND, details: 'unknown service name' });

      for (let round = 0; round < 5; round++) {
        const watches = Array.from({ length: 10 }, (_, i) => health.watch(`${huge}-${round}-${i}`));
        await Promise.all(watches.map((w) => w.until('SERVICE_UNKNOWN')));
        for (const w of watches) w.cancel();
        await Promise.all(watches.map((w) => w.ended));
      }
      await waitFor(() => implementation.openWatches === 0);
      expect(internals.watchers.size).toBe(0);
      expect([...internals.statusMap.keys()].every((k) => k.length < 100)).toBe(true);
    } finally {
      health.close();
    }
  });

  it('refuses a Watch beyond GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION; another connection still watches', async () => {
    jack = await startJack({ GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION: '3' });
    const first = createHealthClient(jack.address);
    // Its own connection: grpc-js shares one between clients of the same target.
    const second = createHealthClient(jack.address, undefined, {
      'grpc.use_local_subchannel_pool': 1,
    });
    try {
      const allowed = Array.from({ length: 3 }, () => first.watch(''));
      await Promise.all(allowed.map((w) => w.until('SERVING')));
      const refused = await first.watch('').ended;
      expect(refused?.code).toBe(status.RESOURCE_EXHAUSTED);
      expect(refused?.details).toBe(
        'at most 3 Watch streams per connection (GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION)',
      );
      const other = second.watch('jack.BackgroundJobs');
      await other.until('SERVING');
      // A cancelled Watch frees its place.
      allowed[0]?.cancel();
      await waitFor(() => jack?.app.health.implementation.openWatches === 3);
      const again = first.watch('jack.AdminService');
      await again.until('SERVING');
    } finally {
      first.close();
      second.close();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
