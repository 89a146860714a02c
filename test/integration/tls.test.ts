import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackgroundJobsClient } from '../../src/gen/jack/jack.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { selfSignedCertificate } from '../support/tls.js';

const mainJs = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/**
 * Clients dial 127.0.0.1 but verify the name localhost: Node deprecates an IP
 * address as the TLS server name (SNI).
 */
const TLS_CLIENT_OPTIONS = { 'grpc.ssl_target_name_override': 'localhost' };

const enqueueRequest = {
  producerId: 'prod_tls',
  jobType: 'send_email',
  payload: Buffer.from('{}'),
  runAt: undefined,
  traceId: '',
  correlationId: 'tls',
  idempotencyKey: '',
};

/** Runs the built server until it exits; resolves with its exit code and stderr. */
function runBuiltServer(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [mainJs], {
      env: { PATH: process.env.PATH ?? '', GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // A server that started despite the bad files would never exit by itself.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === null ? 0 : 128), stderr });
    });
  });
}

describe('TLS on the gRPC port', () => {
  let dir: string;
  let files: { cert: string; key: string };
  let jack: RunningJack;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-tls-'));
    files = await selfSignedCertificate(dir, 'localhost', ['127.0.0.1']);
    jack = await startJack({ TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key });
  });
  afterAll(async () => {
    await jack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves a client that trusts the certificate', async () => {
    const client = new BackgroundJobsClient(
      jack.address,
      credentials.createSsl(await readFile(files.cert)),
      TLS_CLIENT_OPTIONS,
    );
    try {
      const response = await call(client, 'enqueue', enqueueRequest);
      expect(response.correlationId).toBe('tls');
      expect(response.jobId).not.toBe('');
    } finally {
      client.close();
    }
  });

  it('refuses a plaintext client', async () => {
    // startJack's own clients are plaintext.
    const err = await callError(call(jack.jobs, 'enqueue', enqueueRequest, {}, 5_000));
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it('refuses a TLS client that does not trust the certificate', async () => {
    const client = new BackgroundJobsClient(
      jack.address,
      credentials.createSsl(),
      TLS_CLIENT_OPTIONS,
    );
    try {
      const err = await callError(
        new Promise((resolve, reject) =>
          client.enqueue(
            enqueueRequest,
            new Metadata(),
            { deadline: Date.now() + 5_000 },
            (error, response) => (error ? reject(error) : resolve(response)),
          ),
        ),
      );
      expect(err.code).toBe(status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  describe('startup of the built server (dist/main.js; make test builds first)', () => {
    beforeAll(() => {
      if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run 'make build'`);
    });

    it('stops with one line naming TLS_KEY_FILE when the key file is missing', async () => {
      const missing = join(dir, 'no-such-key.pem');
      const result = await runBuiltServer({ TLS_CERT_FILE: files.cert, TLS_KEY_FILE: missing });
      expect(result.code).not.toBe(0);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('TLS_KEY_FILE');
      expect(lines[0]).toContain('ENOENT');
    });

    it('stops with one line naming TLS_CERT_FILE when the certificate cannot be read', async () => {
      // A directory in place of the file is unreadable as a file, even for root.
      const result = await runBuiltServer({ TLS_CERT_FILE: dir, TLS_KEY_FILE: files.key });
      expect(result.code).not.toBe(0);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('TLS_CERT_FILE');
    });

    it('stops with a reason when the files are not a PEM pair', async () => {
      const garbage = join(dir, 'garbage.pem');
      await writeFile(garbage, 'not a certificate\n');
      await chmod(garbage, 0o600);
      const result = await runBuiltServer({ TLS_CERT_FILE: garbage, TLS_KEY_FILE: files.key });
      expect(result.code).not.toBe(0);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('TLS_CERT_FILE/TLS_KEY_FILE are not a usable PEM pair');
    });

    it('stops when only one of the two variables is set', async () => {
      const result = await runBuiltServer({ TLS_CERT_FILE: files.cert });
      expect(result.code).not.toBe(0);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toContain('TLS_KEY_FILE');
    });
  });
});
