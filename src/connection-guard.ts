/**
 * SPEC §6: no client can make Jack hold unbounded resources — also not by
 * opening TCP connections and going silent. Bounds on the accepted sockets
 * of one listening `net.Server` (the gRPC port; any other HTTP/2 port can
 * use the same guard), below whatever protocol runs on them:
 *
 * - at most `maxConnections` open at once (Node's own `server.maxConnections`:
 *   a connection beyond it is closed at once and counted);
 * - once Jack has ended its side of a connection (GOAWAY sent and the
 *   session closed: idle, age, keepalive timeout, handshake timeout,
 *   shutdown), the peer has `closeGraceMs` to close its side, then the
 *   socket is destroyed. Node's HTTP/2 otherwise waits for the peer's FIN
 *   forever, and a peer that never reads never sends it;
 * - an HTTP/2 session whose peer has not acknowledged Jack's SETTINGS within
 *   `handshakeTimeoutMs` is destroyed (`watchHandshake`).
 */
import type { Http2Session } from 'node:http2';
import type { Server, Socket } from 'node:net';

export interface ConnectionLimits {
  maxConnections: number;
  /** How long a peer may keep its side open after Jack ended its own, ms. */
  closeGraceMs: number;
  /** How long an HTTP/2 peer may take to acknowledge Jack's SETTINGS, ms. */
  handshakeTimeoutMs: number;
}

export interface ConnectionGuardEvents {
  /** A connection was refused: `maxConnections` were open. */
  refused?: () => void;
}

export interface ConnectionGuard {
  /** Call for every accepted socket, before handing it on. */
  accepted(socket: Socket): void;
  /** Destroys every socket still open (the end of a shutdown). */
  destroyAll(): void;
}

/** Applies the limits to `server`'s connections; `server` must not be listening yet. */
export function guardConnections(
  server: Server,
  limits: ConnectionLimits,
  events: ConnectionGuardEvents = {},
): ConnectionGuard {
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => events.refused?.());
  const open = new Set<Socket>();
  return {
    accepted(socket) {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      // 'finish': our side is ended. Only the peer's FIN or this timer closes it now.
      socket.once('finish', () => {
        setTimeout(() => socket.destroy(), limits.closeGraceMs).unref();
      });
    },
    destroyAll() {
      for (const socket of open) socket.destroy();
    },
  };
}

/**
 * Destroys `session` unless its peer acknowledges our SETTINGS (the end of
 * the HTTP/2 handshake, Node's 'localSettings') within `timeoutMs`.
 */
export function watchHandshake(session: Http2Session, timeoutMs: number): void {
  const timer = setTimeout(() => {
    if (!session.destroyed) session.destroy();
  }, timeoutMs);
  timer.unref();
  session.once('localSettings', () => clearTimeout(timer));
  session.once('close', () => clearTimeout(timer));
}
