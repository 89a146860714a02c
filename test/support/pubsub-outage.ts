/**
 * A Jack on a PRIVATE Pub/Sub emulator that a test stops and starts again
 * (stopping the shared emulator would break the other test files).
 * Publishes give up after 1 s and health is probed every 200 ms, so an
 * outage shows within a test's patience.
 */
import { afterEach } from 'vitest';
import type { Priority } from '../../src/queue/backend.js';
import { waitForHealth } from './health-client.js';
import { type RunningJack, startJack } from './jack.js';
import { type PubSubEmulator, startPubSubEmulator } from './pubsub-emulator.js';
import { createPubSubFixture, type PubSubFixture } from './pubsub-topics.js';

/** Well above PUBSUB_PUBLISH_TIMEOUT=1s: a call that hung would end DEADLINE_EXCEEDED instead. */
export const OUTAGE_CLIENT_DEADLINE_MS = 8_000;

export interface PubSubOutage {
  jack: RunningJack;
  pubsub: PubSubFixture;
  /** Stops the private emulator: Pub/Sub is gone. */
  stopPubSub(): Promise<void>;
  /**
   * Starts a fresh emulator on the same port, so the running Jack finds it
   * again, and re-creates the topics (a fresh emulator has none), as an
   * operator would.
   */
  restartPubSub(): Promise<void>;
}

/**
 * Registers the cleanup (Jack, fixture, emulators) in `afterEach`; `start`
 * brings up emulator, topics (of `priorities`, default all) and a SERVING Jack.
 */
export function usePubSubOutage(): {
  start(priorities?: readonly Priority[]): Promise<PubSubOutage>;
} {
  const emulators: PubSubEmulator[] = [];
  let pubsub: PubSubFixture | undefined;
  let jack: RunningJack | undefined;
  afterEach(async () => {
    await jack?.close();
    await pubsub?.close();
    for (const emulator of emulators.splice(0)) await emulator.stop();
    jack = undefined;
    pubsub = undefined;
  });
  return {
    async start(priorities) {
      const first = await startPubSubEmulator();
      emulators.push(first);
      const fixture = await createPubSubFixture(first.host, { priorities });
      pubsub = fixture;
      const running = await startJack({
        ...fixture.env(priorities),
        PUBSUB_PUBLISH_TIMEOUT: '1s',
        HEALTH_CHECK_INTERVAL: '200ms',
        LOG_LEVEL: 'info',
      });
      jack = running;
      await waitForHealth(running.address, 'SERVING', 'jack.BackgroundJobs');
      return {
        jack: running,
        pubsub: fixture,
        stopPubSub: () => first.stop(),
        async restartPubSub() {
          emulators.push(await startPubSubEmulator({ port: first.port }));
          await fixture.createTopics(priorities);
        },
      };
    },
  };
}
