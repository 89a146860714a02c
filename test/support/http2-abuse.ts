/**
 * Raw HTTP/2 clients that misbehave the way the attack run did: streams
 * whose responses are never read, streams that never send a body,
 * connections left open and idle. Plus the RSS of a process from /proc.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';

/** Resident set size of `pid`, MiB (Linux). */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) / 1024;
}

/** A gRPC frame: flag 0, length, message. */
export function grpcFrame(message: Uint8Array = new Uint8Array()): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

export function connect(address: string): http2.ClientHttp2Session {
  // The smallest windows HTTP/2 allows a client to keep: nothing read, nothing acknowledged.
  const session = http2.connect(`http://${address}`, { settings: { initialWindowSize: 65_535 } });
  session.on('error', () => {});
  return session;
}

/** Opens a stream to `path`; `body` undefined = headers only, never a body or an end. */
export function openStream(
  session: http2.ClientHttp2Session,
  path: string,
  body?: Buffer,
): http2.ClientHttp2Stream {
  const stream = session.request({
    ':method': 'POST',
    ':path': path,
    'content-type': 'application/grpc',
    te: 'trailers',
  });
  stream.on('error', () => {});
  if (body !== undefined) stream.end(body);
  return stream;
}

/** Resolves when the session is closed (by the server), or false after `timeoutMs`. */
export function closedWithin(
  session: http2.ClientHttp2Session,
  timeoutMs: number,
): Promise<boolean> {
  if (session.closed || session.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    session.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
