/**
 * Raw HTTP/2 clients that misbehave the way the attack run did: streams
 * whose responses are never read, streams that never send a body,
 * connections left open and idle, raw TCP peers that go silent. Plus the
 * RSS and the held connections of a process from /proc.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import http2 from 'node:http2';
import { createConnection, type Socket } from 'node:net';

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

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** An empty SETTINGS frame, and one with the ACK flag. */
const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const SETTINGS_ACK = Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 0]);

export interface SilentPeerOptions {
  /** Acknowledge the server's SETTINGS (blindly, up front): the handshake completes. */
  ackSettings: boolean;
  /**
   * Read what the server sends (and never answer it, nor close on the
   * server's FIN); false: never read, a peer that crashed behind a NAT.
   */
  read: boolean;
}

/**
 * `count` raw TCP connections that send the HTTP/2 preface and SETTINGS and
 * then go silent: no pings answered, no close. Destroy them when done.
 */
export async function silentPeers(
  port: number,
  count: number,
  options: SilentPeerOptions,
): Promise<Socket[]> {
  const hello = Buffer.concat([PREFACE, SETTINGS, ...(options.ackSettings ? [SETTINGS_ACK] : [])]);
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Socket>((resolve) => {
          const socket = createConnection({ port, host: '127.0.0.1', allowHalfOpen: true });
          socket.on('error', () => {});
          socket.once('connect', () => {
            socket.write(hello);
            if (options.read) socket.resume();
            else socket.pause();
            resolve(socket);
          });
          // Refused at once (a connection cap): still a peer the test owns.
          socket.once('close', () => resolve(socket));
        }),
    ),
  );
}

/**
 * TCP connections process `pid` holds on its local `port`, from its side:
 * sockets among its file descriptors (/proc/PID/fd) that /proc/PID/net/tcp
 * lists on that port, whatever their state, listening socket excluded.
 */
export function heldConnections(pid: number, port: number): number {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // Closed between readdir and readlink.
    }
  }
  let held = 0;
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, , state, , , , , , inode] = fields.slice(1);
      if (local === undefined || inode === undefined) continue;
      const localPort = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
      const LISTEN = '0A';
      if (localPort === port && state !== LISTEN && inodes.has(inode)) held += 1;
    }
  }
  return held;
}
