/**
 * Vitest global setup of the integration project: one Pub/Sub emulator per
 * test run, shared by every test file (each test uses its own topics).
 * Without the emulator the Pub/Sub tests skip with a loud notice, except
 * with CI=true, where a missing emulator fails the run.
 */
import type { TestProject } from 'vitest/node';
import { findPubSubEmulator, type PubSubEmulator, startPubSubEmulator } from './pubsub-emulator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the shared emulator; '' when it is not installed (not in CI). */
    pubsubEmulatorHost: string;
  }
}

let emulator: PubSubEmulator | undefined;

export async function setup(project: TestProject): Promise<void> {
  if (findPubSubEmulator() === undefined) {
    if (process.env.CI === 'true') {
      throw new Error(
        'CI=true but the Google Pub/Sub emulator is not installed (gcloud beta emulators pubsub): Pub/Sub tests cannot be skipped in CI',
      );
    }
    const bar = '!'.repeat(78);
    process.stderr.write(
      `\n${bar}\n!! Pub/Sub emulator NOT FOUND: every Pub/Sub test is SKIPPED.\n!! Install the Cloud SDK pubsub emulator (or set PUBSUB_EMULATOR_BIN).\n${bar}\n\n`,
    );
    project.provide('pubsubEmulatorHost', '');
    return;
  }
  emulator = await startPubSubEmulator();
  project.provide('pubsubEmulatorHost', emulator.host);
}

export async function teardown(): Promise<void> {
  await emulator?.stop();
}
