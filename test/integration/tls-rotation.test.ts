/**
 * SPEC §6 TLS: a certificate outside its validity is logged as an error at
 * startup; rotated certificate files are served without a restart.
 */
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningJack, startJack } from '../support/jack.js';
import { certificateValidBetween, selfSignedCertificate } from '../support/tls.js';

/** SHA-256 fingerprint of the certificate the server presents now. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ALPNProtocols: ['h2'],
      rejectUnauthorized: false,
      servername: 'localhost',
    });
    socket.once('secureConnect', () => {
      const fingerprint = socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      socket.destroy();
      resolve(fingerprint);
    });
    socket.once('error', reject);
  });
}

async function fingerprintOf(certFile: string): Promise<string> {
  const { X509Certificate } = await import('node:crypto');
  const { readFile } = await import('node:fs/promises');
  return new X509Certificate(await readFile(certFile)).fingerprint256;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('TLS certificate validity and rotation', () => {
  let dir: string;
  let jack: RunningJack | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-tls-rotation-'));
  });
  afterEach(async () => {
    await jack?.close();
    jack = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    {
      what: 'expired',
      from: new Date('2020-01-01T00:00:00Z'),
      to: new Date('2020-02-01T00:00:00Z'),
      msg: 'the TLS certificate expired on 2020-02-01T00:00:00.000Z',
    },
    {
      what: 'not yet valid',
      from: new Date('2099-01-01T00:00:00Z'),
      to: new Date('2099-02-01T00:00:00Z'),
      msg: 'the TLS certificate is not valid before 2099-01-01T00:00:00.000Z',
    },
  ])('logs an error at startup for an $what certificate', async ({ from, to, msg }) => {
    const { cert, key } = await certificateValidBetween(dir, 'localhost', from, to);
    jack = await startJack({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key });
    expect(jack.logs).toContainEqual(expect.objectContaining({ level: 'error', msg }));
  });

  it('logs no error for a valid certificate', async () => {
    const { cert, key } = await selfSignedCertificate(dir, 'localhost');
    jack = await startJack({ TLS_CERT_FILE: cert, TLS_KEY_FILE: key });
    expect(jack.logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('serves a rotated pair without a restart, and never a half-rotated one', async () => {
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    const a = await selfSignedCertificate(join(dir, 'a'), 'localhost');
    const b = await selfSignedCertificate(join(dir, 'b'), 'localhost');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await copyFile(a.cert, cert);
    await copyFile(a.key, key);
    jack = await startJack({
      TLS_CERT_FILE: cert,
      TLS_KEY_FILE: key,
      TLS_RELOAD_INTERVAL: '100ms',
    });
    const port = jack.app.port;
    expect(await presented(port)).toBe(await fingerprintOf(a.cert));

    // Half-rotated: B's certificate with A's key is not a pair; A stays.
    await copyFile(b.cert, cert);
    const logs = jack.logs;
    expect(
      await eventually(async () =>
        logs.some((l) => l.msg === 'TLS certificate not reloaded; keeping the current one'),
      ),
    ).toBe(true);
    expect(await presented(port)).toBe(await fingerprintOf(a.cert));

    await copyFile(b.key, key);
    const fingerprintB = await fingerprintOf(b.cert);
    expect(await eventually(async () => (await presented(port)) === fingerprintB)).toBe(true);
    expect(logs).toContainEqual(expect.objectContaining({ msg: 'TLS certificate reloaded' }));
  });
});
