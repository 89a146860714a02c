/**
 * SPEC §6 HTTP/2 limits, measured on a spawned Jack: what a client that
 * opens streams and never finishes or reads them can make Jack hold.
 */

import type { Socket } from 'node:net';
import { credentials } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { AdminServiceClient } from '../../src/gen/jack/admin.js';
import { eventually } from '../support/eventually.js';
import {
  closedWithin,
  connect,
  grpcFrame,
  heldConnections,
  openStream,
  rssMiB,
  silentPeers,
} from '../support/http2-abuse.js';
import { call } from '../support/jack.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';

const LIST_PRODUCERS = '/jack.AdminService/ListProducers';

describe('HTTP/2 limits (spawned Jack)', () => {
  const running: SpawnedJack[] = [];
  const sessions: Array<{ destroy(): void }> = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.destroy();
    await Promise.all(running.splice(0).map((j) => j.kill()));
  });

  const start = async (env: Record<string, string>) => {
    const jack = await startBuiltJack(env);
    running.push(jack);
    return jack;
  };

  /** ~1 MiB of producers: every ListProducers answer is then about 1 MiB. */
  const fill = async (address: string) => {
    const admin = new AdminServiceClient(address, credentials.createInsecure());
    try {
      for (let i = 0; i < 256; i += 16) {
        await Promise.all(
          Array.from({ length: 16 }, () =>
            call(admin, 'createProducer', { name: 'p', description: 'd'.repeat(4096) }),
          ),
        );
      }
    } finally {
      admin.close();
    }
  };

  it('a client that never reads pins at most max_concurrent_streams responses', async () => {
    const jack = await start({ GRPC_MAX_CONCURRENT_STREAMS: '8' });
    await fill(jack.address);
    const before = rssMiB(jack.pid);
    const session = connect(jack.address);
    sessions.push(session);
    const streams = Array.from({ length: 200 }, () =>
      openStream(session, LIST_PRODUCERS, grpcFrame()),
    );
    for (const s of streams) s.pause();
    // Let Jack answer everything it will answer.
    await new Promise((r) => setTimeout(r, 3_000));
    const grown = rssMiB(jack.pid) - before;
    // Unbounded, all 200 answers stay queued (~280 MiB measured); 8 of them are ~15 MiB.
    expect(grown).toBeLessThan(64);
    expect(session.remoteSettings.maxConcurrentStreams).toBe(8);
  }, 60_000);

  it('refuses new streams of a connection holding more unread answers than the session memory', async () => {
    const jack = await start({
      GRPC_MAX_CONCURRENT_STREAMS: '1000',
      GRPC_MAX_SESSION_MEMORY_MIB: '8',
    });
    await fill(jack.address);
    const before = rssMiB(jack.pid);
    const session = connect(jack.address);
    sessions.push(session);
    let refused = 0;
    const wave = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const stream = openStream(session, LIST_PRODUCERS, grpcFrame());
        stream.pause();
        stream.on('close', () => {
          if (stream.rstCode !== 0) refused += 1;
        });
      }
      await new Promise((r) => setTimeout(r, 1_500));
    };
    await wave(16); // ~16 MiB queued: over the 8 MiB
    await wave(100);
    await wave(100);
    expect(refused).toBeGreaterThanOrEqual(200);
    // Unbounded, 216 answers stay queued (~330 MiB measured).
    expect(rssMiB(jack.pid) - before).toBeLessThan(96);
  }, 60_000);

  it('advertises max_concurrent_streams 100 by default', async () => {
    const jack = await start({});
    const session = connect(jack.address);
    sessions.push(session);
    await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
  });

  it('closes a connection without calls after GRPC_MAX_CONNECTION_IDLE', async () => {
    const jack = await start({ GRPC_MAX_CONNECTION_IDLE: '300ms' });
    const idle = Array.from({ length: 20 }, () => connect(jack.address));
    sessions.push(...idle);
    const closed = await Promise.all(idle.map((s) => closedWithin(s, 5_000)));
    expect(closed.every(Boolean)).toBe(true);
  });

  it('closes a connection whose stream never sends a body after age + grace', async () => {
    const jack = await start({
      GRPC_MAX_CONNECTION_AGE: '300ms',
      GRPC_MAX_CONNECTION_AGE_GRACE: '300ms',
    });
    const session = connect(jack.address);
    sessions.push(session);
    openStream(session, LIST_PRODUCERS);
    expect(await closedWithin(session, 5_000)).toBe(true);
  });

  it('pings a connection every GRPC_KEEPALIVE_TIME', async () => {
    const jack = await start({ GRPC_KEEPALIVE_TIME: '200ms' });
    const session = connect(jack.address);
    sessions.push(session);
    openStream(session, LIST_PRODUCERS);
    const pinged = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 5_000);
      session.once('ping', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    expect(pinged).toBe(true);
  });
});

/**
 * SPEC §6 against peers that go silent at the TCP level: Jack, not the peer,
 * must end every connection it no longer wants, and count none beyond
 * GRPC_MAX_CONNECTIONS. Counted from the server's side (/proc of the process).
 */
describe('silent TCP peers (spawned Jack)', () => {
  const running: SpawnedJack[] = [];
  const peers: Socket[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    await Promise.all(running.splice(0).map((j) => j.kill()));
  });
  const start = async (env: Record<string, string>) => {
    const jack = await startBuiltJack(env);
    running.push(jack);
    return jack;
  };
  const held = (jack: { pid: number; port: number }) => heldConnections(jack.pid, jack.port);

  it('reaps 100 peers that finished the handshake and never read, by idle time and keepalive', async () => {
    const jack = await start({
      GRPC_MAX_CONNECTION_IDLE: '2s',
      GRPC_KEEPALIVE_TIME: '2s',
      GRPC_KEEPALIVE_TIMEOUT: '2s',
    });
    peers.push(...(await silentPeers(jack.port, 100, { ackSettings: true, read: false })));
    await eventually('Jack holds the 100 connections', async () => held(jack) === 100, 5_000);
    // Idle (2 s) or an unanswered ping (2 s + 2 s), then 2 s for the peer to close.
    await eventually('Jack holds none of them', async () => held(jack) === 0, 12_000);
  }, 30_000);

  it('closes a connection whose peer does not acknowledge SETTINGS within GRPC_HANDSHAKE_TIMEOUT', async () => {
    const jack = await start({ GRPC_HANDSHAKE_TIMEOUT: '1s' });
    peers.push(...(await silentPeers(jack.port, 20, { ackSettings: false, read: false })));
    await eventually('Jack holds the 20 connections', async () => held(jack) === 20, 5_000);
    // Idle time and keepalive are minutes here: only the handshake timeout closes them.
    await eventually('Jack holds none of them', async () => held(jack) === 0, 8_000);
  }, 30_000);

  it('closes a connection whose keepalive pings go unanswered although the peer reads', async () => {
    const jack = await start({ GRPC_KEEPALIVE_TIME: '1s', GRPC_KEEPALIVE_TIMEOUT: '1s' });
    // Reads everything, answers nothing, and never closes its side.
    peers.push(...(await silentPeers(jack.port, 20, { ackSettings: true, read: true })));
    await eventually('Jack holds the 20 connections', async () => held(jack) === 20, 5_000);
    await eventually('Jack holds none of them', async () => held(jack) === 0, 10_000);
  }, 30_000);

  it('refuses connections beyond GRPC_MAX_CONNECTIONS and counts them', async () => {
    const jack = await start({ GRPC_MAX_CONNECTIONS: '10', METRICS_PORT: '0' });
    const line = await jack.waitForLog((l) => l.msg.startsWith('jack listening on'));
    peers.push(...(await silentPeers(jack.port, 30, { ackSettings: true, read: true })));
    await eventually('refused connections are closed', async () => held(jack) === 10, 5_000);
    const scrape = await (await fetch(`http://127.0.0.1:${line.metricsPort}/metrics`)).text();
    expect(scrape).toContain('jack_connections_refused_total{listener="grpc"} 20');
    // An eleventh is refused as well.
    const session = connect(jack.address);
    expect(await closedWithin(session, 1_000)).toBe(true);
    session.destroy();
  }, 30_000);
});
