/**
 * The leak check (support/leaks.ts) sees what a test file leaves open: a
 * listening server, a client connection, a Jack from startJack. Each case
 * closes what it opened, so this file itself passes the check.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startJack } from '../support/jack.js';
import { handleCounts, leaksSince } from '../support/leaks.js';

const listen = async (): Promise<Server> => {
  const server = createServer((socket) => socket.on('error', () => {}));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
};
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('leak check', () => {
  it('reports a server left listening, and nothing once it is closed', async () => {
    const before = handleCounts();
    const server = await listen();
    expect(await leaksSince(before, 0)).toEqual(['1 × listening TCP server']);
    await close(server);
    expect(await leaksSince(before, 1_000)).toEqual([]);
  });

  it('reports a client connection left open', async () => {
    const server = await listen();
    const before = handleCounts();
    const { port } = server.address() as { port: number };
    const client: Socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    const leaks = await leaksSince(before, 0);
    expect(leaks.some((l) => l.includes('open TCP connection'))).toBe(true);
    client.destroy();
    await close(server);
    expect(await leaksSince(before, 1_000)).toEqual([]);
  });

  it('names a Jack started with startJack and not closed', async () => {
    const before = handleCounts();
    const jack = await startJack();
    const leaks = await leaksSince(before, 0);
    expect(leaks).toContain(`Jack at ${jack.address} (startJack; call close()), never closed`);
    await jack.close();
    expect(await leaksSince(before, 2_000)).toEqual([]);
  });
});
