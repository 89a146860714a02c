/**
 * Invalid configuration stops the built service before it binds its port,
 * with exactly one line on stderr that names the variable.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runToExit } from '../support/spawn.js';

describe('startup errors of the built service', () => {
  // The port the service is told to use is held by the test: a service that
  // tried to bind before validating would fail with "cannot listen" instead.
  let occupied: Server;
  let port: number;
  let dir: string;
  beforeAll(async () => {
    occupied = createServer();
    await new Promise<void>((resolve) => occupied.listen(0, '127.0.0.1', resolve));
    const address = occupied.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
    dir = await mkdtemp(join(tmpdir(), 'jack-startup-'));
  });
  afterAll(async () => {
    await new Promise((resolve) => occupied.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (env: Record<string, string>) => {
    const jack = await runToExit({
      env: { GRPC_HOST: '127.0.0.1', GRPC_PORT: String(port), CONFIG_DIR: dir, ...env },
    });
    const exit = await jack.exited;
    return { exit, stderr: jack.stderr(), logs: jack.logs, otherStdout: jack.otherStdout };
  };

  it.each<{ variable: string; env: Record<string, string> }>([
    { variable: 'GRPC_PORT', env: { GRPC_PORT: '70000' } },
    { variable: 'GRPC_PORT', env: { GRPC_PORT: 'http' } },
    { variable: 'QUEUE_BACKEND', env: { QUEUE_BACKEND: 'kafka' } },
    { variable: 'SHUTDOWN_GRACE_PERIOD', env: { SHUTDOWN_GRACE_PERIOD: 'soon' } },
    { variable: 'PUBSUB_PROJECT', env: { PUBSUB_PROJECT: 'my-project' } },
    { variable: 'MESSAGE_FORMAT', env: { MESSAGE_FORMAT: 'xml' } },
    { variable: 'MAX_PAYLOAD_BYTES', env: { MAX_PAYLOAD_BYTES: 'lots' } },
  ])(
    '$variable in $env: exits non-zero with one stderr line naming it',
    async ({ variable, env }) => {
      const { exit, stderr, logs, otherStdout } = await run(env);
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      const lines = stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^jack: invalid configuration: /);
      expect(lines[0]).toContain(variable);
      // Configuration is checked before anything starts: nothing was logged, nothing bound.
      expect(logs).toEqual([]);
      expect(otherStdout).toEqual([]);
    },
  );

  it('names CONFIG_DIR in one line when the directory cannot be used, before listening', async () => {
    const notADirectory = join(dir, 'a-file');
    await writeFile(notADirectory, 'not a directory');
    const { exit, stderr, logs } = await run({ CONFIG_DIR: join(notADirectory, 'config') });
    expect(exit.code).not.toBe(0);
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^jack: startup failed: /);
    expect(lines[0]).toContain(join(notADirectory, 'config'));
    expect(logs.some((l) => l.msg.startsWith('jack listening'))).toBe(false);
  });

  it('says in one line that the port is taken when it cannot bind', async () => {
    const { exit, stderr, logs } = await run({});
    expect(exit.code).not.toBe(0);
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    // Jack's own sentence, not grpc-js's "No address added out of total 1 resolved …".
    expect(lines[0]).toBe(
      `jack: startup failed: cannot listen on 127.0.0.1:${port}: the port is already in use (GRPC_PORT)`,
    );
    expect(logs.some((l) => l.msg.startsWith('jack listening'))).toBe(false);
    // No stack on stdout: the fatal line carries the reason and the cause's text only.
    const fatal = logs.find((l) => l.msg === 'startup failed');
    expect(fatal).toMatchObject({
      reason: `cannot listen on 127.0.0.1:${port}: the port is already in use (GRPC_PORT)`,
    });
    expect(JSON.stringify(logs)).not.toMatch(/\n\s+at /);
  });
});
