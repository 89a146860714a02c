/**
 * Jack over HTTP (SPEC §18) against what a newcomer and an attacker send:
 * the real `curl` over HTTP/1.1, wrong content types, broken JSON and
 * binary, fields of the wrong type, unknown fields, bodies over the cap,
 * slow-loris headers, more connections than HTTP_MAX_CONNECTIONS, the
 * probes and CORS. Every refusal is a clear status in Jack's own words.
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { call, type RunningJack, startJack } from '../support/jack.js';

const curlAvailable = spawnSync('curl', ['--version']).status === 0;
if (!curlAvailable) {
  const message = 'curl is not installed: the curl case of the HTTP tests is skipped';
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true requires it)`);
  console.warn(`\n*** ${message} ***\n`);
}

const MAX_RECEIVE = 64 * 1024;
const MAX_CONNECTIONS = 20;
const ALLOWED_ORIGIN = 'https://console.example.com';

function curl(args: string[]): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '--max-time', '10', ...args]);
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout }));
  });
}

/** A raw TCP connection; resolves when the server closes it (or after `boundMs`: 'open'). */
function closedWithin(socket: net.Socket, boundMs: number): Promise<'closed' | 'open'> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('open'), boundMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
  });
}

describe('Jack over HTTP: bad input', () => {
  let jack: RunningJack;
  let base: string;
  let producerId: string;

  beforeAll(async () => {
    jack = await startJack({
      HTTP_PORT: '0',
      METRICS_PORT: '0',
      GRPC_MAX_RECEIVE_BYTES: String(MAX_RECEIVE),
      MAX_PAYLOAD_BYTES: '16384',
      HTTP_MAX_CONNECTIONS: String(MAX_CONNECTIONS),
      HTTP_HEADERS_TIMEOUT: '1s',
      HTTP_CORS_ORIGINS: ALLOWED_ORIGIN,
      LOG_LEVEL: 'warn',
    });
    base = `http://127.0.0.1:${jack.app.httpPort}`;
    producerId = (await call(jack.admin, 'createProducer', { name: 'http', description: '' }))
      .producer?.producerId as string;
    await call(jack.admin, 'createJobType', {
      producerId,
      name: 'mail',
      queue: 2,
      maxRetries: 0,
      description: '',
    });
  });
  afterAll(async () => {
    await jack?.close();
  });

  const post = (method: string, body: string | Uint8Array, type = 'application/json') =>
    fetch(`${base}/${method}`, { method: 'POST', headers: { 'content-type': type }, body });

  it.skipIf(!curlAvailable)('curl enqueues a job with JSON over HTTP/1.1', async () => {
    const { status, stdout } = await curl([
      '--http1.1',
      '-H',
      'content-type: application/json',
      '-d',
      JSON.stringify({
        producerId,
        jobType: 'mail',
        payload: Buffer.from('{"to":"ada"}').toString('base64'),
      }),
      `${base}/jack.BackgroundJobs/Enqueue`,
    ]);
    expect(status).toBe(0);
    const { jobId } = JSON.parse(stdout) as { jobId: string };
    expect(jobId).toMatch(/^pjob_/);
    const job = await call(jack.ledger, 'getJob', { jobId });
    expect(job.payloadBytes).toBe(Buffer.byteLength('{"to":"ada"}'));
  });

  it.each([
    ['broken JSON', '{"producerId": ', 'request body is not valid JSON for jack.EnqueueRequest'],
    ['a JSON array', '[1]', 'request body is not valid JSON for jack.EnqueueRequest'],
    [
      'a field of the wrong type',
      '{"producerId":5}',
      'request field producer_id has a value of the wrong type',
    ],
    ['a bad enum name', '{"name":"x","queue":"QUEUE_SOMETIMES"}', undefined],
  ])('%s: 400 invalid_argument in Jack’s words', async (_what, body, message) => {
    const method = body.includes('queue')
      ? 'jack.AdminService/UpdateJobType'
      : 'jack.BackgroundJobs/Enqueue';
    const res = await post(method, body);
    expect(res.status).toBe(400);
    const error = (await res.json()) as { code: string; message: string };
    expect(error.code).toBe('invalid_argument');
    if (message !== undefined) expect(error.message).toBe(message);
    expect(error.message).not.toMatch(/cannot decode|protobuf|parse (json|binary)/i);
  });

  it('binary that is not the message: 400 invalid_argument, not INTERNAL', async () => {
    const res = await post(
      'jack.BackgroundJobs/Enqueue',
      Buffer.from('garbage'),
      'application/proto',
    );
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      code: 'invalid_argument',
      message: 'request body is not a valid protobuf message for this method',
    });
  });

  it('unknown JSON fields are ignored, as unknown protobuf fields are (the contract grows by additions)', async () => {
    const res = await post(
      'jack.BackgroundJobs/Enqueue',
      JSON.stringify({ producerId, jobType: 'mail', addedInAFutureVersion: true }),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { jobId: string }).jobId).toMatch(/^pjob_/);
  });

  it('a wrong content type: 415', async () => {
    const res = await post('jack.BackgroundJobs/Enqueue', 'hello', 'text/plain');
    expect(res.status).toBe(415);
  });

  it('an unknown path: 404; GET of a method: refused', async () => {
    expect((await post('jack.Nothing/Here', '{}')).status).toBe(404);
    const get = await fetch(`${base}/jack.BackgroundJobs/Enqueue`);
    expect(get.status).toBeGreaterThanOrEqual(400);
    expect(get.status).toBeLessThan(500);
  });

  it('a body over the cap (GRPC_MAX_RECEIVE_BYTES): refused with resource_exhausted, the server stays up', async () => {
    const res = await post(
      'jack.BackgroundJobs/Enqueue',
      JSON.stringify({
        producerId,
        jobType: 'mail',
        payload: Buffer.alloc(MAX_RECEIVE).toString('base64'),
      }),
    );
    expect(res.status).toBe(429);
    expect(((await res.json()) as { code: string }).code).toBe('resource_exhausted');
    const ok = await post(
      'jack.BackgroundJobs/Enqueue',
      JSON.stringify({ producerId, jobType: 'mail' }),
    );
    expect(ok.status).toBe(200);
  });

  it('slow-loris: headers not finished within HTTP_HEADERS_TIMEOUT close the connection', async () => {
    const socket = net.connect(jack.app.httpPort as number, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => {});
    socket.resume(); // read, so the server's 408 and FIN arrive
    socket.write('POST /jack.BackgroundJobs/Enqueue HTTP/1.1\r\nHost: x\r\n');
    const dripping = setInterval(() => socket.write('X-Slow: 1\r\n'), 200);
    try {
      expect(await closedWithin(socket, 5_000)).toBe('closed');
    } finally {
      clearInterval(dripping);
      socket.destroy();
    }
  });

  it('beyond HTTP_MAX_CONNECTIONS idle connections are closed at once and counted; the rest still serve', async () => {
    const metric = async () => {
      const text = await (await fetch(`http://127.0.0.1:${jack.app.metricsPort}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('jack_connections_refused_total{listener="http"}'));
      return Number(line?.split(' ')[1] ?? 0);
    };
    const before = await metric();
    const sockets: net.Socket[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS * 2; i++) {
        const socket = net.connect(jack.app.httpPort as number, '127.0.0.1');
        socket.on('error', () => {});
        sockets.push(socket);
      }
      await Promise.all(sockets.map((s) => new Promise((resolve) => s.once('connect', resolve))));
      await eventually(
        'the connections beyond the cap are closed',
        async () =>
          sockets.filter((s) => s.destroyed || s.readyState === 'closed').length >= MAX_CONNECTIONS,
        5_000,
      );
      const open = sockets.filter((s) => !(s.destroyed || s.readyState === 'closed'));
      expect(open.length).toBeLessThanOrEqual(MAX_CONNECTIONS);
      expect(await metric()).toBeGreaterThanOrEqual(before + MAX_CONNECTIONS);
    } finally {
      for (const s of sockets) s.destroy();
    }
    // Once they are gone, Jack serves again.
    await eventually('a fresh connection is served', async () => {
      const res = await fetch(`${base}/healthz`).catch(() => undefined);
      return res?.status === 200;
    });
  });

  it('/healthz and /readyz answer 200 while serving; nothing but GET and HEAD', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
    }
    expect((await fetch(`${base}/readyz`, { method: 'HEAD' })).status).toBe(200);
  });

  it('CORS only for HTTP_CORS_ORIGINS', async () => {
    const preflight = (origin: string) =>
      fetch(`${base}/jack.BackgroundJobs/Enqueue`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,authorization',
        },
      });
    const allowed = await preflight(ALLOWED_ORIGIN);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    const refused = await preflight('https://evil.example.com');
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();

    const simple = await fetch(`${base}/jack.BackgroundJobs/Enqueue`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example.com' },
      body: JSON.stringify({ producerId, jobType: 'mail' }),
    });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    await sleep(0);
  });
});
