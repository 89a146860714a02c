import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryObjects } from '../../src/storage/memory.js';
import type { ObjectIO } from '../../src/storage/store.js';
import { createHealthClient } from '../support/health-client.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { BUILT_MAIN, requireBuild, runToExit } from '../support/spawn.js';
import { selfSignedCertificate } from '../support/tls.js';

/**
 * Memory objects whose writes wait for `release()` once `hold()` was called:
 * a CreateProducer then stays in flight for as long as the test wants,
 * without any timing.
 */
function gatedObjects(): ObjectIO & {
  hold(): void;
  release(): void;
  /** Resolves when a write is waiting at the gate. */
  waiting: Promise<void>;
} {
  const objects = createMemoryObjects();
  let gate: Promise<void> | undefined;
  let openGate = () => {};
  let reportWaiting = () => {};
  const waiting = new Promise<void>((resolve) => {
    reportWaiting = resolve;
  });
  return {
    kind: objects.kind,
    location: objects.location,
    read: (name, known) => objects.read(name, known),
    async write(name, text, ifGeneration) {
      if (gate !== undefined) {
        reportWaiting();
        await gate;
      }
      return objects.write(name, text, ifGeneration);
    },
    close: () => objects.close(),
    hold() {
      gate = new Promise((resolve) => {
        openGate = resolve;
      });
    },
    release() {
      openGate();
    },
    waiting,
  };
}

describe('grpc.health.v1', () => {
  let jack: RunningJack | undefined;
  afterEach(async () => {
    await jack?.close();
    jack = undefined;
  });

  it('answers SERVING for the server and both jack services, NOT_FOUND for anything else', async () => {
    jack = await startJack();
    const health = createHealthClient(jack.address);
    try {
      expect(await health.check('')).toBe('SERVING');
      expect(await health.check('jack.BackgroundJobs')).toBe('SERVING');
      expect(await health.check('jack.AdminService')).toBe('SERVING');
      const err = await callError(health.check('jack.NoSuchService'));
      expect(err.code).toBe(status.NOT_FOUND);
    } finally {
      health.close();
    }
  });

  it('Watch reports SERVING, then NOT_SERVING as soon as shutdown starts, while calls still run', async () => {
    const objects = gatedObjects();
    jack = await startJack({}, { memoryObjects: objects });
    const health = createHealthClient(jack.address);
    try {
      const watches = ['', 'jack.BackgroundJobs', 'jack.AdminService'].map((s) => health.watch(s));
      await Promise.all(watches.map((w) => w.until('SERVING')));

      // A call that is in flight when shutdown starts (its store write is held).
      objects.hold();
      const inFlight = call(jack.admin, 'createProducer', { name: 'in-flight', description: '' });
      await objects.waiting;

      const shutdown = jack.app.shutdown();
      // SPEC §5 order: health goes NOT_SERVING first, while the call is still running …
      await Promise.all(watches.map((w) => w.until('NOT_SERVING')));
      for (const w of watches) expect(w.statuses).toEqual(['SERVING', 'NOT_SERVING']);
      // … and the server no longer accepts new calls, so a probe cannot see SERVING.
      const probe = createHealthClient(jack.address);
      try {
        const refused = await callError(probe.check(''));
        expect(refused.code).toBe(status.UNAVAILABLE);
      } finally {
        probe.close();
      }

      // The held call finishes OK; then shutdown completes and ends the streams.
      objects.release();
      const created = await inFlight;
      expect(created.producer?.name).toBe('in-flight');
      await shutdown;
      for (const w of watches) {
        // Ended cleanly with OK (no error), after NOT_SERVING.
        expect(await w.ended).toBeUndefined();
        expect(w.statuses).toEqual(['SERVING', 'NOT_SERVING']);
      }
    } finally {
      health.close();
    }
  });
});

describe('container health probe (dist/healthcheck.js)', () => {
  const healthcheckJs = join(dirname(BUILT_MAIN), 'healthcheck.js');
  let jack: RunningJack | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await jack?.close();
    jack = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** Runs the probe with the service's own environment; resolves with its exit code and output. */
  const probe = async (env: Record<string, string>, service?: string) => {
    requireBuild();
    const child = await runToExit({
      script: healthcheckJs,
      env,
      args: service === undefined ? [] : [service],
    });
    const exit = await child.exited;
    return { code: exit.code, stdout: child.otherStdout.join('\n'), stderr: child.stderr() };
  };

  it('exits 0 on SERVING and 1 on NOT_SERVING, unknown service or no server', async () => {
    jack = await startJack();
    const env = { GRPC_HOST: '127.0.0.1', GRPC_PORT: String(jack.app.port) };
    expect(await probe(env)).toMatchObject({ code: 0, stdout: expect.stringContaining('SERVING') });
    expect((await probe(env, 'jack.BackgroundJobs')).code).toBe(0);
    expect((await probe(env, 'jack.NoSuchService')).code).toBe(1);

    jack.app.health.shutDown();
    expect(await probe(env)).toMatchObject({
      code: 1,
      stdout: expect.stringContaining('NOT_SERVING'),
    });

    await jack.close();
    jack = undefined;
    const gone = await probe(env);
    expect(gone.code).toBe(1);
    expect(gone.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('probes over TLS when TLS_CERT_FILE is set, whatever name the certificate carries', async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-healthcheck-tls-'));
    const { cert, key } = await selfSignedCertificate(dir, 'jack.example.com');
    const tlsEnv = { TLS_CERT_FILE: cert, TLS_KEY_FILE: key };
    jack = await startJack(tlsEnv);
    const env = { GRPC_HOST: '127.0.0.1', GRPC_PORT: String(jack.app.port) };
    expect((await probe({ ...env, ...tlsEnv })).code).toBe(0);
    // Plaintext against a TLS server fails: the probe really uses TLS above.
    expect((await probe(env)).code).toBe(1);
  });
});
