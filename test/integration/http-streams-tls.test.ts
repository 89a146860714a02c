/**
 * Jack over HTTP (SPEC §18), the long and the secure: a WatchJob stream
 * that outlives HTTP_IDLE_TIMEOUT (a quiet watch is not an idle
 * connection), on h2c, HTTP/1.1 and gRPC-Web; and the HTTP port on TLS with
 * the gRPC certificate (HTTPS for curl-like clients, h2 by ALPN, plain HTTP
 * refused).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobState as GrpcJobState } from '../../src/gen/jack/jobs.js';
import { JobState, Jobs } from '../../src/gen-es/jack/jobs_pb.js';
import { call, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';
import { report } from '../support/jobs.js';
import { selfSignedCertificate } from '../support/tls.js';

const IDLE_MS = 1_000;

describe('a WatchJob stream over HTTP outlives HTTP_IDLE_TIMEOUT', () => {
  let jack: RunningJack;
  let base: string;
  beforeAll(async () => {
    jack = await startJack({
      HTTP_PORT: '0',
      HTTP_IDLE_TIMEOUT: `${IDLE_MS}ms`,
      LOG_LEVEL: 'warn',
    });
    base = `http://127.0.0.1:${jack.app.httpPort}`;
    await call(jack.admin, 'createProducer', { name: 'watch', description: '' });
  });
  afterAll(async () => {
    await jack?.close();
  });

  it.each([
    [
      'Connect binary, h2c',
      () => createConnectTransport({ baseUrl: base, httpVersion: '2', useBinaryFormat: true }),
    ],
    ['Connect JSON, HTTP/1.1', () => createConnectTransport({ baseUrl: base, httpVersion: '1.1' })],
    ['gRPC-Web, HTTP/1.1', () => createGrpcWebTransport({ baseUrl: base, httpVersion: '1.1' })],
  ])(
    '%s',
    async (_name, transport) => {
      const { jobId } = await call(
        jack.jobs,
        'enqueue',
        enqueueRequest({ producerId: 'prod_watch', jobType: 'resize' }),
      );
      const client = createClient(Jobs, transport());
      const states: JobState[] = [];
      const watching = (async () => {
        for await (const job of client.watchJob({ jobId }, { timeoutMs: 15_000 }))
          states.push(job.state);
      })();
      // Nothing happens to the job for 2.5 × the idle timeout: the stream must stay.
      await sleep(IDLE_MS * 2.5);
      for (const state of [GrpcJobState.JOB_STATE_RUNNING, GrpcJobState.JOB_STATE_SUCCEEDED]) {
        await call(
          jack.ledger,
          'reportJobStatus',
          report({ jobId, producerId: 'prod_watch', jobType: 'resize', state }),
        );
      }
      await watching;
      expect(states[0]).toBe(JobState.QUEUED);
      expect(states.at(-1)).toBe(JobState.SUCCEEDED);
    },
    20_000,
  );
});

describe('the HTTP port on TLS (TLS_CERT_FILE / TLS_KEY_FILE of gRPC)', () => {
  let jack: RunningJack;
  let dir: string;
  let ca: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jack-http-tls-'));
    const files = await selfSignedCertificate(dir, 'localhost', ['127.0.0.1']);
    ca = await readFile(files.cert);
    jack = await startJack({
      HTTP_PORT: '0',
      TLS_CERT_FILE: files.cert,
      TLS_KEY_FILE: files.key,
      LOG_LEVEL: 'warn',
    });
  });
  afterAll(async () => {
    await jack?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const get = (path: string, options: https.RequestOptions = {}) =>
    new Promise<{ status: number }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: jack.app.httpPort,
          path,
          ca,
          ...options,
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0 });
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('answers HTTPS with the gRPC certificate: the probes, and Connect over h2 by ALPN', async () => {
    expect((await get('/healthz')).status).toBe(200);
    const client = createClient(
      Jobs,
      createConnectTransport({
        baseUrl: `https://localhost:${jack.app.httpPort}`,
        httpVersion: '2',
        nodeOptions: { ca, host: '127.0.0.1' } as never,
      }),
    );
    const refused = await client.getJob({ jobId: 'pjob_nope' }).catch((e: unknown) => e);
    expect(String(refused)).toMatch(/invalid_argument|InvalidArgument/i);
  });

  it('refuses a client that does not trust the certificate, and plain HTTP', async () => {
    await expect(get('/healthz', { ca: undefined, rejectUnauthorized: true })).rejects.toThrow();
    const plain = await fetch(`http://127.0.0.1:${jack.app.httpPort}/healthz`).catch(
      (e: unknown) => e,
    );
    expect(plain).toBeInstanceOf(Error);
  });
});
