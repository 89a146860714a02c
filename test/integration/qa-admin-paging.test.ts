/**
 * QA (hostile black-box) of SPEC §10 paging over a real socket: page_size
 * 1 / 1001 / negative, a stale token whose record was deleted, and tokens
 * Jack did not issue — also ones that differ from an issued token only in
 * a character base64url decoding ignores.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { createProducer } from '../support/registry.js';

describe('QA §10: paging edges', () => {
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack({ LOG_LEVEL: 'warn' });
  });
  afterAll(async () => {
    await jack?.close();
  });

  const newProducer = (name = 'p') => createProducer(jack, name);

  it('page_size 1 walks every producer once; 1001 counts as 1000; negative is refused', async () => {
    for (let i = 0; i < 3; i++) await newProducer(`page-${i}`);
    const all = (await call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' })).producers;
    const seen: string[] = [];
    let pageToken = '';
    do {
      const page = await call(jack.admin, 'listProducers', { pageSize: 1, pageToken });
      expect(page.producers.length).toBeLessThanOrEqual(1);
      seen.push(...page.producers.map((p) => p.producerId));
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
    expect(seen).toEqual(all.map((p) => p.producerId));
    const big = await call(jack.admin, 'listProducers', { pageSize: 1001, pageToken: '' });
    expect(big.producers.length).toBe(all.length);
    expect(big.nextPageToken).toBe('');
    const negative = await callError(
      call(jack.admin, 'listProducers', { pageSize: -1, pageToken: '' }),
    );
    expect(negative.code).toBe(status.INVALID_ARGUMENT);
  });

  it('a stale token (its record deleted meanwhile) still works; a forged one is INVALID_ARGUMENT', async () => {
    const a = await newProducer('stale-a');
    await newProducer('stale-b');
    const all = (await call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' })).producers;
    const index = all.findIndex((p) => p.producerId === a.producerId);
    // A page ending at `a`.
    let pageToken = '';
    if (index > 0) {
      pageToken = (await call(jack.admin, 'listProducers', { pageSize: index, pageToken: '' }))
        .nextPageToken;
    }
    const page = await call(jack.admin, 'listProducers', { pageSize: 1, pageToken });
    expect(page.producers[0]?.producerId).toBe(a.producerId);
    await call(jack.admin, 'deleteProducer', { producerId: a.producerId });
    const next = await call(jack.admin, 'listProducers', {
      pageSize: 0,
      pageToken: page.nextPageToken,
    });
    expect(next.producers.map((p) => p.producerId)).toEqual(
      all.slice(index + 1).map((p) => p.producerId),
    );
    for (const forged of [
      'garbage',
      `${page.nextPageToken}x`,
      page.nextPageToken.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
      '.',
      'a'.repeat(5000),
      '🙂',
    ]) {
      const err = await callError(
        call(jack.admin, 'listProducers', { pageSize: 1, pageToken: forged }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/^page_token is not valid for this list/);
    }
  });
});
