import { describe, expect, it } from 'vitest';
import { logSink } from '../../../test/support/jack.js';
import { internalContext } from '../../context.js';
import { JackError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { createAuthInterceptor } from './auth.js';

const TOKEN = 'jk_00112233445566aa_SECRETSECRETSECRETSECRETSECRETSECRETSECRET1';
const method = (service: string, name: string) => ({
  service,
  method: name,
  path: `/${service}/${name}`,
});

describe('audit of admin writes', () => {
  it('logs ids picked from request and response, never the token CreateApiKey returns', async () => {
    const sink = logSink();
    const interceptor = createAuthInterceptor(
      undefined,
      createLogger({ level: 'info' }, sink.stream),
    );
    const handler = interceptor(
      async () => ({
        apiKey: { keyId: 'key_00112233445566aa', producerId: 'prod_1', description: 'd' },
        token: TOKEN,
      }),
      method('jack.AdminService', 'CreateApiKey'),
    );
    await handler({ producerId: 'prod_1', description: 'd' }, internalContext({ requestId: 'r1' }));
    expect(sink.lines).toEqual([
      expect.objectContaining({
        audit: true,
        requestId: 'r1',
        principal: 'anonymous (AUTH_MODE=off)',
        method: 'AdminService/CreateApiKey',
        target: { producerId: 'prod_1', keyId: 'key_00112233445566aa' },
        outcome: 'OK',
      }),
    ]);
    expect(JSON.stringify(sink.lines)).not.toContain('SECRET');
  });

  it('logs the outcome of a failed write, and nothing for reads or job calls', async () => {
    const sink = logSink();
    const interceptor = createAuthInterceptor(
      undefined,
      createLogger({ level: 'info' }, sink.stream),
    );
    const failing = interceptor(
      async () => {
        throw new JackError('not_found', 'job type not found');
      },
      method('jack.AdminService', 'DeleteJobType'),
    );
    await expect(
      failing({ producerId: 'prod_1', name: 'send' }, internalContext()),
    ).rejects.toThrow('job type not found');
    expect(sink.lines).toEqual([
      expect.objectContaining({
        method: 'AdminService/DeleteJobType',
        target: { producerId: 'prod_1', jobType: 'send' },
        outcome: 'NOT_FOUND',
      }),
    ]);
    const next = async () => ({});
    // Not wrapped at all: no per-call cost for reads, jobs, health.
    expect(interceptor(next, method('jack.AdminService', 'ListProducers'))).toBe(next);
    expect(interceptor(next, method('jack.BackgroundJobs', 'Enqueue'))).toBe(next);
    expect(interceptor(next, method('grpc.health.v1.Health', 'Check'))).toBe(next);
  });
});
