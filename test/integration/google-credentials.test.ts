/**
 * SPEC §5: every adapter that needs Google credentials (Cloud Tasks, Pub/Sub
 * without the emulator, GCS) stops the built process with ONE line on stderr
 * that names what to fix — no unhandled rejection, no stack. The process
 * runs where no credentials can be found: GOOGLE_APPLICATION_CREDENTIALS
 * names a missing file (or is unset), HOME is an empty directory (no gcloud
 * ADC), and the metadata server is a closed loopback port.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToExit } from '../support/spawn.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const FIX =
  'has no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, run `gcloud auth application-default login`, or run with an attached service account';

describe('Google adapters without credentials (built process)', () => {
  let home: string;
  let nowhere: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'jack-no-credentials-'));
    nowhere = `127.0.0.1:${await closedPort()}`;
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  const pubsub = {
    QUEUE_BACKEND: 'pubsub',
    PUBSUB_PROJECT: 'p',
    PUBSUB_TOPIC_MEDIUM: 'jobs',
    PUBSUB_VERIFY_TOPICS: 'false',
  };
  const adapters: Array<{ name: string; env: () => Record<string, string>; line: string }> = [
    {
      name: 'Cloud Tasks',
      // The backend uses an emulator address (never contacted): only Cloud Tasks needs credentials.
      env: () => ({
        ...pubsub,
        PUBSUB_EMULATOR_HOST: nowhere,
        CLOUD_TASKS_PROJECT: 'p',
        CLOUD_TASKS_LOCATION: 'europe-west1',
        CLOUD_TASKS_QUEUE: 'later',
        CLOUD_TASKS_SERVICE_ACCOUNT: 'enqueuer@p.iam.gserviceaccount.com',
      }),
      line: `jack: startup failed: the Cloud Tasks scheduler (CLOUD_TASKS_PROJECT, CLOUD_TASKS_LOCATION, CLOUD_TASKS_QUEUE) ${FIX}: `,
    },
    {
      name: 'Pub/Sub without the emulator',
      env: () => pubsub,
      line: `jack: startup failed: the Pub/Sub backend (QUEUE_BACKEND=pubsub) ${FIX}; or set PUBSUB_EMULATOR_HOST to use the emulator: `,
    },
    {
      name: 'GCS',
      env: () => ({ GCS_BUCKET: 'jack-config' }),
      line: `jack: startup failed: the GCS config store (GCS_BUCKET) ${FIX}: `,
    },
  ];
  const credentialFiles = [
    { how: 'GOOGLE_APPLICATION_CREDENTIALS names a missing file', file: true },
    { how: 'no GOOGLE_APPLICATION_CREDENTIALS', file: false },
  ];

  for (const adapter of adapters) {
    for (const { how, file } of credentialFiles) {
      it(`${adapter.name}, ${how}: one line naming the fix, non-zero exit`, async () => {
        const jack = await runToExit(
          {
            env: {
              HOME: home,
              GCE_METADATA_HOST: nowhere,
              GCE_METADATA_IP: nowhere,
              GRPC_HOST: '127.0.0.1',
              GRPC_PORT: '0',
              ...(file ? { GOOGLE_APPLICATION_CREDENTIALS: join(home, 'missing.json') } : {}),
              ...adapter.env(),
            },
          },
          20_000,
        );
        const exit = await jack.exited;
        expect(exit.code).not.toBe(0);
        expect(exit.code).not.toBeNull();
        const lines = jack.stderr().split('\n');
        // Exactly one line, then the final newline.
        expect(lines).toHaveLength(2);
        expect(lines[1]).toBe('');
        expect(lines[0]?.startsWith(adapter.line)).toBe(true);
        expect(lines[0]).toContain(
          file ? 'missing.json' : 'Could not load the default credentials',
        );
        expect(jack.logs.some((l) => l.msg === 'unhandled rejection')).toBe(false);
      });
    }
  }
});
