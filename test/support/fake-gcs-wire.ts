/**
 * The wire side of the fake GCS: request routing, the object metadata GCS
 * returns, multipart bodies, checksums and JSON error bodies.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CRC32C } from '@google-cloud/storage';

export type FakeGcsRequestKind = 'bucket' | 'metadata' | 'download' | 'upload' | 'other';

export interface StoredObject {
  generation: number;
  data: Buffer;
  contentType: string;
  updated: Date;
}

export interface Route {
  kind: FakeGcsRequestKind;
  bucket: string | undefined;
  object: string | undefined;
}

export function parseRoute(method: string, url: URL): Route {
  // With STORAGE_EMULATOR_HOST the client uses that value verbatim as the
  // JSON API base (with or without /storage/v1) and puts uploads under it too.
  const path = url.pathname
    .replace(/^\/storage\/v1(?=\/upload\/|\/b\/)/, '')
    .replace(/^\/b\//, '/storage/v1/b/');
  const upload = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path);
  if (upload !== null && method === 'POST') {
    return { kind: 'upload', bucket: decodeURIComponent(upload[1] as string), object: undefined };
  }
  const object = /^\/storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path);
  if (object !== null && method === 'GET') {
    return {
      kind: url.searchParams.get('alt') === 'media' ? 'download' : 'metadata',
      bucket: decodeURIComponent(object[1] as string),
      object: decodeURIComponent(object[2] as string),
    };
  }
  const bucket = /^\/storage\/v1\/b\/([^/]+)$/.exec(path);
  if (bucket !== null && method === 'GET') {
    return { kind: 'bucket', bucket: decodeURIComponent(bucket[1] as string), object: undefined };
  }
  return { kind: 'other', bucket: undefined, object: undefined };
}

export function metadataOf(bucket: string, name: string, object: StoredObject) {
  return {
    kind: 'storage#object',
    id: `${bucket}/${name}/${object.generation}`,
    name,
    bucket,
    generation: String(object.generation),
    metageneration: '1',
    contentType: object.contentType,
    size: String(object.data.length),
    md5Hash: md5(object.data),
    crc32c: crc32c(object.data),
    etag: md5(object.data),
    timeCreated: object.updated.toISOString(),
    updated: object.updated.toISOString(),
  };
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The parts' bodies of a multipart/related body (headers stripped). */
export function parseMultipart(contentType: string, body: Buffer): Buffer[] | undefined {
  const match = /boundary="?([^";]+)"?/i.exec(contentType);
  if (match === null) return undefined;
  const delimiter = Buffer.from(`--${match[1]}`);
  const parts: Buffer[] = [];
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const afterDelimiter = start + delimiter.length;
    // "--" after the delimiter closes the body.
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, afterDelimiter);
    if (next === -1) return undefined;
    const part = body.subarray(afterDelimiter, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd === -1) return undefined;
    // Drop the CRLF that precedes the next delimiter.
    let content = part.subarray(headerEnd + 4);
    if (content.subarray(-2).toString() === '\r\n') content = content.subarray(0, -2);
    parts.push(content);
    start = next;
  }
  return parts;
}

export function md5(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

export function crc32c(data: Buffer): string {
  const crc = new CRC32C();
  crc.update(data);
  return crc.toString();
}

export function sendJson(res: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, reason: string, message: string) {
  sendJson(res, status, {
    error: { code: status, message, errors: [{ domain: 'global', reason, message }] },
  });
}
