import { describe, expect, it } from 'vitest';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';

describe.skipIf(skipWithoutEmulator())('Pub/Sub emulator (global setup)', () => {
  it('answers on the provided host', async () => {
    const response = await fetch(`http://${pubsubEmulatorHost()}/`);
    expect(response.ok).toBe(true);
  });
});
