/**
 * Leak check for integration test files (run by leak-check.setup.ts): a
 * file must close every server, client, backend and child process it opened.
 * Two sources: resources the support helpers register (`trackOpen`, named
 * precisely: "Jack at 127.0.0.1:1234"), and Node's own list of active
 * handles (`process.getActiveResourcesInfo()`), which also sees a backend,
 * a fake server or a client a test opened by hand.
 */
import { setTimeout as sleep } from 'node:timers/promises';

const tracked = new Map<object, string>();

/** Registers `resource` as open until `trackClosed(resource)`. */
export function trackOpen(resource: object, what: string): void {
  tracked.set(resource, what);
}

export function trackClosed(resource: object): void {
  tracked.delete(resource);
}

/** Handle kinds that mean "something is still open", with what they are. */
const WATCHED: Readonly<Record<string, string>> = {
  TCPServerWrap: 'listening TCP server',
  TCPSocketWrap: 'open TCP connection (a client, or a server-side call)',
  PipeServerWrap: 'listening socket server',
  ProcessWrap: 'child process',
};

export type HandleCounts = Record<string, number>;

/** How many handles of each watched kind are active now. */
export function handleCounts(): HandleCounts {
  const counts: HandleCounts = Object.fromEntries(Object.keys(WATCHED).map((k) => [k, 0]));
  for (const kind of process.getActiveResourcesInfo()) {
    if (kind in counts) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/**
 * What is still open compared with `before`; waits up to `graceMs` for
 * closes already under way (a closed socket leaves the list a tick later).
 * Empty when nothing leaked.
 */
export async function leaksSince(before: HandleCounts, graceMs = 3_000): Promise<string[]> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const leaks = [...tracked.values()].map((what) => `${what}, never closed`);
    const now = handleCounts();
    for (const [kind, label] of Object.entries(WATCHED)) {
      const extra = (now[kind] ?? 0) - (before[kind] ?? 0);
      if (extra > 0) leaks.push(`${extra} × ${label}`);
    }
    if (leaks.length === 0 || Date.now() >= deadline) return leaks;
    await sleep(50);
  }
}
