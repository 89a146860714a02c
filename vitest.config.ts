import { defineConfig } from 'vitest/config';
import { isGcsLibraryStreamFault } from './src/storage/gcs-library-fault.ts';

export default defineConfig({
  test: {
    // The GCS client's known stream fault (src/storage/gcs-library-fault.ts)
    // surfaces as an unhandled rejection when a fake-GCS outage test aborts
    // a request; Jack's main.ts logs it too. Every other one fails the run.
    onUnhandledError: (error) => (isGcsLibraryStreamFault(error) ? false : undefined),
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          setupFiles: ['test/support/leak-check.setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
