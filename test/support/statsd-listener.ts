import { createSocket } from 'node:dgram';

/** A UDP socket that collects DogStatsD lines, as an agent would receive them. */
export interface StatsdListener {
  port: number;
  /** Every line received so far (datagrams split on newlines). */
  lines: string[];
  /** Resolves once `predicate` holds for the lines received (polls; fails after `timeoutMs`). */
  waitFor(predicate: (lines: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

export async function startStatsdListener(): Promise<StatsdListener> {
  const socket = createSocket('udp4');
  const lines: string[] = [];
  socket.on('message', (datagram) => {
    for (const line of datagram.toString('utf8').split('\n')) if (line !== '') lines.push(line);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    lines,
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(lines)) {
        if (Date.now() > deadline) {
          throw new Error(`DogStatsD lines not as expected; got:\n${lines.join('\n')}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return lines;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
