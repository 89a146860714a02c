/**
 * The behaviour every queue backend must have (src/queue/backend.ts),
 * whatever the broker. Each backend's test calls `describeBackendContract`
 * with a fixture that opens a fresh backend (and, where there is a broker,
 * reads back what reached it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isJackError, type JackError } from '../../src/errors.js';
import type { Backend, OutboundMessage, Priority } from '../../src/queue/backend.js';

export interface BackendFixture {
  /** A fresh backend, ready to publish to all four priorities. */
  open(): Promise<Backend>;
  /**
   * The job ids that reached the broker for `priority` (at least `count` of
   * them are expected), or undefined for a backend that delivers nowhere.
   */
  delivered?(priority: Priority, count: number): Promise<string[]>;
  /** Releases the broker resources; backends are closed before. */
  dispose(): Promise<void>;
}

/**
 * Backends that can fail (every backend with a broker) also provide broken
 * brokers, so the contract checks the error, timeout and close guarantees.
 * Each returns a fresh backend and the bound it documents for one publish.
 */
export interface BackendFaults {
  /** Nothing listens where the broker should be. */
  unreachable(): Promise<{ backend: Backend; timeoutMs: number }>;
  /** The broker accepts the connection and never answers. */
  silent(): Promise<{ backend: Backend; timeoutMs: number }>;
  /** The broker works, but refuses every message of `refused` for good (e.g. its topic is gone). */
  refusing(): Promise<{ backend: Backend; refused: Priority }>;
  /** Releases what the fault fixtures opened; backends are closed before. */
  dispose(): Promise<void>;
}

/** Slack for timers and a loaded machine on top of a documented bound. */
const BOUND_SLACK_MS = 2_500;

let sequence = 0;

/** A message as the enqueuer would build it (attributes abridged). */
export function outbound(priority: Priority, payload = '{}'): OutboundMessage {
  sequence += 1;
  const jobId = `pjob_contract_${sequence}`;
  return {
    jobId,
    priority,
    data: Buffer.from(payload),
    attributes: {
      job_id: jobId,
      producer_id: 'prod_contract',
      job_type: 'contract',
      priority,
      shadow: 'false',
    },
  };
}

/** The JackError `promise` rejects with, and how long that took. */
async function rejection(promise: Promise<unknown>): Promise<{ error: JackError; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (err) {
    if (isJackError(err)) return { error: err, ms: performance.now() - started };
    throw new Error(`expected a JackError, got ${String(err)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}

export function describeBackendContract(
  name: string,
  makeFixture: () => Promise<BackendFixture>,
  faults?: () => Promise<BackendFaults>,
) {
  describe(`Backend contract: ${name}`, () => {
    const opened: { fixture: BackendFixture | BackendFaults; backends: Backend[] }[] = [];
    afterEach(async () => {
      for (const { fixture, backends } of opened.splice(0)) {
        for (const backend of backends) await backend.close();
        await fixture.dispose();
      }
    });

    async function open(): Promise<{ fixture: BackendFixture; backend: Backend }> {
      const fixture = await makeFixture();
      const entry = { fixture, backends: [] as Backend[] };
      opened.push(entry);
      const backend = await fixture.open();
      entry.backends.push(backend);
      return { fixture, backend };
    }

    it('has a kind', async () => {
      const { backend } = await open();
      expect(backend.kind).toBe(name);
    });

    it('publish resolves with a non-empty message id, and the message is delivered', async () => {
      const { fixture, backend } = await open();
      const message = outbound('high');
      const id = await backend.publish(message);
      expect(typeof id).toBe('string');
      expect(id).not.toBe('');
      if (fixture.delivered !== undefined) {
        expect(await fixture.delivered('high', 1)).toEqual([message.jobId]);
      }
    });

    it('publishMany settles one result per message, in order, each with its own id', async () => {
      const { fixture, backend } = await open();
      const priorities: Priority[] = ['immediate', 'high', 'medium', 'low', 'medium', 'low'];
      const messages = priorities.map((p) => outbound(p));
      const results = await backend.publishMany(messages);
      expect(results).toHaveLength(messages.length);
      const ids = results.map((r) => (r.status === 'fulfilled' ? r.value : `failed: ${r.reason}`));
      for (const id of ids) expect(id).not.toMatch(/^failed|^$/);
      expect(new Set(ids).size).toBe(ids.length);
      if (fixture.delivered !== undefined) {
        for (const p of ['immediate', 'high', 'medium', 'low'] as const) {
          const expected = messages.filter((m) => m.priority === p).map((m) => m.jobId);
          expect((await fixture.delivered(p, expected.length)).sort()).toEqual(expected.sort());
        }
      }
    });

    it('publishMany of nothing is an empty result', async () => {
      const { backend } = await open();
      expect(await backend.publishMany([])).toEqual([]);
    });

    it('check resolves while the broker is reachable', async () => {
      const { backend } = await open();
      await expect(backend.check()).resolves.toBeUndefined();
    });

    it('close is idempotent', async () => {
      const { backend } = await open();
      await backend.publish(outbound('medium'));
      await backend.close();
      await backend.close();
    });

    it('close flushes: a publish still in flight resolves with its id and is delivered', async () => {
      const { fixture, backend } = await open();
      const message = outbound('low');
      const pending = backend.publish(message);
      await backend.close();
      const id = await pending;
      expect(id).not.toBe('');
      if (fixture.delivered !== undefined) {
        expect(await fixture.delivered('low', 1)).toEqual([message.jobId]);
      }
    });

    // Declared only for backends with a broker: noop cannot fail, and CI runs no skipped test.
    if (faults !== undefined)
      describe('failures', () => {
        async function fault<T extends { backend: Backend }>(
          pick: (f: BackendFaults) => Promise<T>,
        ): Promise<T> {
          const fixture = await (faults as () => Promise<BackendFaults>)();
          const entry = { fixture, backends: [] as Backend[] };
          opened.push(entry);
          const broken = await pick(fixture);
          entry.backends.push(broken.backend);
          return broken;
        }

        it('an unreachable broker: publish rejects unavailable within its bound, then check rejects', async () => {
          const { backend, timeoutMs } = await fault((f) => f.unreachable());
          const { error, ms } = await rejection(backend.publish(outbound('medium')));
          expect(error.code).toBe('unavailable');
          expect(ms).toBeLessThan(timeoutMs + BOUND_SLACK_MS);
          const failedCheck = await rejection(backend.check());
          expect(failedCheck.error.code).toBe('unavailable');
        });

        it('a broker that never answers: publish rejects unavailable within its bound', async () => {
          const { backend, timeoutMs } = await fault((f) => f.silent());
          const { error, ms } = await rejection(backend.publish(outbound('high')));
          expect(error.code).toBe('unavailable');
          expect(ms).toBeLessThan(timeoutMs + BOUND_SLACK_MS);
        });

        it('close does not wait forever for a broker that never answers', async () => {
          const { backend, timeoutMs } = await fault((f) => f.silent());
          const pending = rejection(backend.publish(outbound('high')));
          const started = performance.now();
          await backend.close();
          expect(performance.now() - started).toBeLessThan(timeoutMs + BOUND_SLACK_MS);
          expect((await pending).error.code).toBe('unavailable');
        });

        it('a permanent refusal is internal, and fails only its own message in publishMany', async () => {
          const { backend, refused } = await fault((f) => f.refusing());
          const others = (['immediate', 'high', 'medium', 'low'] as const).filter(
            (p) => p !== refused,
          );
          const messages = [
            outbound(others[0] ?? 'medium'),
            outbound(refused),
            outbound(others[1] ?? 'medium'),
          ];
          const results = await backend.publishMany(messages);
          expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
          const reason = (results[1] as PromiseRejectedResult).reason as unknown;
          expect(isJackError(reason) && reason.code).toBe('internal');
          const single = await rejection(backend.publish(outbound(refused)));
          expect(single.error.code).toBe('internal');
        });
      });
  });
}
