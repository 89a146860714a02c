/**
 * The console's files at `/` (SPEC §18) and the one JSON document its
 * overview polls. The files are what `make build` bundled into
 * dist/console (scripts/build-console.mjs): read once at startup and served
 * from memory, each with a strict Content-Security-Policy, its content type
 * and a cache rule (index.html revalidated, content-hashed assets kept for a
 * year). No cookies are ever set.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import type { HttpRequest, HttpResponse, StaticHandler } from './server.js';

/** Path of the overview document (aggregate counters and health; no ids). */
export const OVERVIEW_PATH = '/console/overview.json';

/**
 * Scripts and styles only from Jack itself (no inline ones, no eval), calls
 * only to Jack, never framed, no plugins, no <base>, no form posts.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** esbuild's `[name]-[hash]` names: safe to cache for good. */
const HASHED = /-[A-Z0-9]{8}\.[a-z]+$/;

interface ConsoleFile {
  body: Buffer;
  contentType: string;
  cacheControl: string;
}

export interface ConsoleDeps {
  /** The built console (dist/console); missing: `/` says how to build it. */
  dir: string;
  /** The overview document, computed per request. */
  overview: () => unknown;
}

/** Every file under `dir` by URL path (`/index.html`, `/assets/main-AB12CD34.js`). */
function readFiles(dir: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && CONTENT_TYPES[extname(entry.name)] !== undefined) {
        const url = `/${relative(dir, path).split('\\').join('/')}`;
        files.set(url, {
          body: readFileSync(path),
          contentType: CONTENT_TYPES[extname(entry.name)] as string,
          cacheControl: HASHED.test(entry.name)
            ? 'public, max-age=31536000, immutable'
            : 'no-cache',
        });
      }
    }
  };
  walk(dir);
  return files;
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

export function createConsoleHandler(deps: ConsoleDeps): StaticHandler {
  const files = isDirectory(deps.dir) ? readFiles(deps.dir) : new Map<string, ConsoleFile>();
  const send = (
    req: HttpRequest,
    res: HttpResponse,
    status: number,
    headers: Record<string, string>,
    body: string | Buffer,
  ) => {
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      ...headers,
      'content-length': String(Buffer.byteLength(body)),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    if (path === OVERVIEW_PATH) {
      send(
        req,
        res,
        200,
        { 'content-type': 'application/json', 'cache-control': 'no-store' },
        JSON.stringify(deps.overview()),
      );
      return;
    }
    const file = files.get(path === '/' ? '/index.html' : path);
    if (file !== undefined) {
      send(
        req,
        res,
        200,
        { 'content-type': file.contentType, 'cache-control': file.cacheControl },
        file.body,
      );
      return;
    }
    const missing =
      files.size === 0 && path === '/'
        ? 'the console is not built: run make build\n'
        : 'not found\n';
    send(
      req,
      res,
      404,
      { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
      missing,
    );
  };
}
