/**
 * Vitest global setup of the integration project: one Pub/Sub emulator and
 * one PostgreSQL cluster per test run, shared by every test file (each test
 * uses its own topics; each file its own database, `createDatabase`).
 * Without them their tests skip with a loud notice, except with CI=true,
 * where a missing component fails the run.
 */
import type { TestProject } from 'vitest/node';
import { type PostgresCluster, postgresAvailable, startPostgres } from './postgres.js';
import { findPubSubEmulator, type PubSubEmulator, startPubSubEmulator } from './pubsub-emulator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the shared emulator; '' when it is not installed (not in CI). */
    pubsubEmulatorHost: string;
    /** URL of the shared PostgreSQL cluster's maintenance database; '' when not installed (not in CI). */
    postgresUrl: string;
  }
}

let emulator: PubSubEmulator | undefined;
let postgres: PostgresCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  await Promise.all([setupPubSub(project), setupPostgres(project)]);
}

async function setupPostgres(project: TestProject): Promise<void> {
  if (!postgresAvailable()) {
    project.provide('postgresUrl', '');
    return;
  }
  postgres = await startPostgres();
  project.provide('postgresUrl', postgres.url);
}

async function setupPubSub(project: TestProject): Promise<void> {
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
  await Promise.all([emulator?.stop(), postgres?.destroy()]);
}
