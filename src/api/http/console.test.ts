import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, createConsoleHandler, OVERVIEW_PATH } from './console.js';
import type { HttpRequest } from './server.js';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string | undefined;
}

function get(handler: ReturnType<typeof createConsoleHandler>, url: string, method = 'GET') {
  const answer: Answer = { status: 0, headers: {}, body: undefined };
  handler({ url, method, headers: {} } as unknown as HttpRequest, {
    setHeader: () => undefined,
    writeHead(status: number, headers?: Record<string, string>) {
      answer.status = status;
      answer.headers = headers ?? {};
    },
    end(body?: string | Uint8Array) {
      answer.body = body === undefined ? undefined : Buffer.from(body).toString();
    },
  });
  return answer;
}

describe('console files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jack-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(dir, 'assets', 'main-ABCD1234.js'), 'console.log(1)');
  writeFileSync(join(dir, 'notes.txt'), 'not served');
  const handler = createConsoleHandler({ dir, overview: () => ({ enqueued: 3 }) });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves index.html at / with the CSP, revalidated, no cookie', () => {
    const a = get(handler, '/?x=1');
    expect(a.status).toBe(200);
    expect(a.body).toBe('<!doctype html><title>x</title>');
    expect(a.headers).toMatchObject({
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    expect(Object.keys(a.headers)).not.toContain('set-cookie');
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
  });

  it('keeps content-hashed assets for a year and answers HEAD without a body', () => {
    const a = get(handler, '/assets/main-ABCD1234.js', 'HEAD');
    expect(a.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(a.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(a.headers['content-length']).toBe('14');
    expect(a.body).toBeUndefined();
  });

  it('answers 404 for unknown paths, other file kinds and path tricks', () => {
    for (const url of ['/nope', '/notes.txt', '/../package.json', '/assets/../index.html/']) {
      expect(get(handler, url).status).toBe(404);
    }
  });

  it('serves the overview document, never cached', () => {
    const a = get(handler, OVERVIEW_PATH);
    expect(a.status).toBe(200);
    expect(JSON.parse(a.body as string)).toEqual({ enqueued: 3 });
    expect(a.headers['cache-control']).toBe('no-store');
  });

  it('says how to build the console when it is missing', () => {
    const missing = createConsoleHandler({ dir: join(dir, 'absent'), overview: () => ({}) });
    const a = get(missing, '/');
    expect(a.status).toBe(404);
    expect(a.body).toBe('the console is not built: run make build\n');
  });
});
