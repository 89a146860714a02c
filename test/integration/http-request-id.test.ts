/**
 * The request id over Connect (SPEC §18, §5): one `x-request-id` header on
 * every answer — OK, refused and streamed — the caller's own when it sent a
 * plain one, and never repeated (Connect merges an error's metadata into the
 * response headers, which once answered `x-request-id: a, a`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningJack, startJack } from '../support/jack.js';

describe('x-request-id over Connect', () => {
  let jack: RunningJack;
  let base: string;
  beforeAll(async () => {
    jack = await startJack({ HTTP_PORT: '0' });
    base = `http://127.0.0.1:${jack.app.httpPort}`;
  });
  afterAll(async () => {
    await jack?.close();
  });

  const post = (method: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it.each([
    ['an OK answer', 'jack.AdminService/CreateProducer', { name: 'rid' }, 200],
    ['a refusal', 'jack.BackgroundJobs/Enqueue', { producerId: '', jobType: 'x' }, 400],
    ['a refused job id', 'jack.Jobs/GetJob', { jobId: 'pjob_nope' }, 400],
  ])('%s carries one request id, the caller’s own', async (_what, method, body, httpStatus) => {
    const fresh = await post(method, body);
    expect(fresh.status).toBe(httpStatus);
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    const given = await post(method, body, { 'x-request-id': 'req-42' });
    expect(given.status).toBe(httpStatus);
    expect(given.headers.get('x-request-id')).toBe('req-42');
  });

  it('a refused stream (WatchJob of a malformed id) carries one request id', async () => {
    const json = Buffer.from(JSON.stringify({ jobId: 'pjob_nope' }));
    const envelope = Buffer.alloc(5 + json.length);
    envelope.writeUInt32BE(json.length, 1);
    json.copy(envelope, 5);
    const res = await fetch(`${base}/jack.Jobs/WatchJob`, {
      method: 'POST',
      headers: { 'content-type': 'application/connect+json', 'x-request-id': 'req-43' },
      body: envelope,
    });
    expect(res.headers.get('x-request-id')).toBe('req-43');
    expect(Buffer.from(await res.arrayBuffer()).toString()).toContain('invalid_argument');
  });
});
