/**
 * Two Jack replicas (the real app, in-process) sharing one bucket of the
 * fake GCS server, each publishing to its own recording backend, re-reading
 * the store every 200 ms.
 */
import { type FakeGcs, startFakeGcs } from './fake-gcs.js';
import { type RunningJack, startJack } from './jack.js';
import { createRecordingBackend, type RecordingBackend } from './recording-backend.js';

export const REPLICAS_BUCKET = 'jack-config';

export interface GcsReplicas {
  gcs: FakeGcs;
  a: RunningJack;
  b: RunningJack;
  aBackend: RecordingBackend;
  bBackend: RecordingBackend;
  /** Closes both replicas, then the fake. */
  close(): Promise<void>;
}

/** Starts the fake, its bucket and the two replicas; `env` adds to (or overrides) the GCS settings. */
export async function startGcsReplicas(env: Record<string, string> = {}): Promise<GcsReplicas> {
  const gcs = await startFakeGcs();
  gcs.createBucket(REPLICAS_BUCKET);
  const replicaEnv = {
    GCS_BUCKET: REPLICAS_BUCKET,
    GCS_ENDPOINT: gcs.endpoint,
    CONFIG_REFRESH_INTERVAL: '200ms',
    ...env,
  };
  const aBackend = createRecordingBackend();
  const bBackend = createRecordingBackend();
  let a: RunningJack | undefined;
  try {
    a = await startJack(replicaEnv, { backend: aBackend });
    const b = await startJack(replicaEnv, { backend: bBackend });
    return {
      gcs,
      a,
      b,
      aBackend,
      bBackend,
      async close() {
        await Promise.all([a?.close(), b.close()]);
        await gcs.close();
      },
    };
  } catch (err) {
    await a?.close();
    await gcs.close();
    throw err;
  }
}
