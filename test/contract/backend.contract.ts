/**
 * The behaviour every queue backend must have (src/queue/backend.ts),
 * whatever the broker. Each backend's test calls `describeBackendContract`
 * with a fixture that opens a fresh backend (and, where there is a broker,
 * reads back what reached it).
 */
import { afterEach, describe, expect, it } from 'vitest';
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

export function describeBackendContract(name: string, makeFixture: () => Promise<BackendFixture>) {
  describe(`Backend contract: ${name}`, () => {
    const opened: { fixture: BackendFixture; backends: Backend[] }[] = [];
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
  });
}
