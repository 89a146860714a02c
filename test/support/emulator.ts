import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';

/** host:port of the shared Pub/Sub emulator, or '' when it is not installed (never in CI). */
export function pubsubEmulatorHost(): string {
  return inject('pubsubEmulatorHost');
}

/** True when Pub/Sub tests must be skipped (emulator missing, not CI). */
export const skipWithoutEmulator = (): boolean => pubsubEmulatorHost() === '';

/** A name no other test uses: topics, subscriptions, prefixes. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
