/**
 * SPEC §5/§6: a CONFIG_DIR that breaks under a running Jack — replaced by a
 * file, removed, made read-only, out of space — turns every admin write into
 * UNAVAILABLE with Jack's own message and the request id, at once (not a
 * client deadline), and one log line with the cause. Before, the lock
 * library retried every error for ~20 s and the client saw only its own
 * DEADLINE_EXCEEDED.
 */
import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from '../../src/gen/jack/storage.js';
import {
  type BreakableDir,
  type BreakCase,
  breakableDir,
  canBreak,
} from '../support/broken-dir.js';
import { call, type RunningJack, startJack } from '../support/jack.js';
import { BLANK_JOB_TYPE, BLANK_PRODUCER } from '../support/registry.js';

/** Well under a client's default 10 s: a hang shows up as DEADLINE_EXCEEDED. */
const DEADLINE_MS = 5_000;

interface Answer {
  code: number;
  details: string;
  /** x-request-id as the client received it (header or trailer). */
  requestId: string | undefined;
}

describe('a CONFIG_DIR that breaks under a running Jack', () => {
  let jack: RunningJack | undefined;
  let target: BreakableDir | undefined;
  afterEach(async () => {
    await jack?.close();
    jack = undefined;
    await target?.cleanup();
    target = undefined;
  });

  /** Calls `method` with an x-request-id of ours and returns what came back. */
  const answer = (
    method: keyof RunningJack['admin'],
    request: unknown,
    requestId: string,
  ): Promise<Answer> => {
    const admin = jack?.admin as unknown as Record<
      string,
      (
        req: unknown,
        md: Metadata,
        opts: { deadline: number },
        cb: (err: ServiceError | null) => void,
      ) => { on(e: 'metadata', fn: (md: Metadata) => void): void }
    >;
    const md = new Metadata();
    md.set('x-request-id', requestId);
    return new Promise((resolve) => {
      let header: Metadata | undefined;
      const c = admin[method as string]?.call(
        jack?.admin,
        request,
        md,
        { deadline: Date.now() + DEADLINE_MS },
        (err) => {
          const seen = header?.get('x-request-id')[0] ?? err?.metadata?.get('x-request-id')[0];
          resolve({
            code: err?.code ?? status.OK,
            details: err?.details ?? '',
            requestId: seen === undefined ? undefined : String(seen),
          });
        },
      );
      c?.on('metadata', (m) => {
        header = m;
      });
    });
  };

  const cases: BreakCase[] = ['replaced by a file', 'removed', 'read-only', 'disk full'];
  for (const kind of cases) {
    it.skipIf(!canBreak(kind))(
      `${kind}: every write is UNAVAILABLE with the request id, and its cause is logged`,
      async () => {
        target = await breakableDir(kind);
        jack = await startJack({ CONFIG_DIR: target.dir });
        const { producer } = await call(jack.admin, 'createProducer', {
          name: 'billing',
          description: '',
        });
        const producerId = producer?.producerId ?? '';
        await call(jack.admin, 'createJobType', {
          producerId,
          name: 'send_invoice',
          queue: Queue.QUEUE_LOW,
          maxRetries: 3,
          description: '',
        });
        const { apiKey } = await call(jack.admin, 'createApiKey', {
          producerId,
          description: '',
          role: 0,
        });
        await target.break();

        const writes: Array<[keyof RunningJack['admin'], unknown, string]> = [
          ['createProducer', { name: 'second', description: '' }, 'producers.json'],
          [
            'updateProducer',
            { producer: { ...BLANK_PRODUCER, producerId, name: 'renamed' }, updateMask: ['name'] },
            'producers.json',
          ],
          ['deleteProducer', { producerId }, 'producers.json'],
          [
            'createJobType',
            {
              producerId,
              name: 'refund',
              queue: Queue.QUEUE_LOW,
              maxRetries: 3,
              description: '',
            },
            'job_types.json',
          ],
          [
            'updateJobType',
            {
              jobType: { ...BLANK_JOB_TYPE, producerId, name: 'send_invoice', maxRetries: 9 },
              updateMask: ['max_retries'],
            },
            'job_types.json',
          ],
          ['deleteJobType', { producerId, name: 'send_invoice' }, 'job_types.json'],
          ['createApiKey', { producerId, description: '', role: 0 }, 'api_keys.json'],
          ['revokeApiKey', { keyId: apiKey?.keyId ?? '' }, 'api_keys.json'],
        ];
        const answers = await Promise.all(
          writes.map(([method, request], i) => answer(method, request, `broken-${i}`)),
        );
        for (const [i, [method, , file]] of writes.entries()) {
          expect({ method, ...answers[i] }).toEqual({
            method,
            code: status.UNAVAILABLE,
            details: `the config store cannot write ${file}`,
            requestId: `broken-${i}`,
          });
          const lines = jack.logs.filter(
            (l) => l.msg === 'call failed' && l.requestId === `broken-${i}`,
          );
          expect(lines).toHaveLength(1);
          // The operator's detail: the path and the system error.
          const cause = JSON.stringify(lines[0]?.err);
          expect(cause).toContain(target.errno);
          expect(cause).toContain(file);
        }
      },
      30_000,
    );
  }
});
