/**
 * SPEC §10 paging over gRPC: ListProducers, ListJobTypes and ListApiKeys page tokens
 * (stable while producers are added, refused when forged or for another
 * list), page_size 0 and the 1000 cap.
 */
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRole, Queue } from '../../src/gen/jack/storage.js';
import { encodeProducers } from '../../src/storage/codec.js';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { ABSENT_GENERATION } from '../../src/storage/store.js';
import { call, callError, type RunningJack, startJack } from '../support/jack.js';
import { createProducer } from '../support/registry.js';

describe('AdminService §10: paging', () => {
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack();
  });
  afterAll(async () => {
    await jack.close();
  });

  const listProducers = (pageSize: number, pageToken = '') =>
    call(jack.admin, 'listProducers', { pageSize, pageToken });

  it('pages producers in order, stable while producers are added; page_size 0 is everything', async () => {
    for (let i = 0; i < 5; i++)
      await call(jack.admin, 'createProducer', { name: `p${i}`, description: '' });
    const everything = (await listProducers(0)).producers.map((p) => p.producerId);
    expect(everything).toHaveLength(5);
    expect((await listProducers(0)).nextPageToken).toBe('');

    const first = await listProducers(2);
    expect(first.producers.map((p) => p.producerId)).toEqual(everything.slice(0, 2));
    expect(first.nextPageToken).not.toBe('');
    // Added after the first page: they sort last and appear on a later page, shifting nothing.
    await call(jack.admin, 'createProducer', { name: 'late', description: '' });
    const second = await listProducers(2, first.nextPageToken);
    expect(second.producers.map((p) => p.producerId)).toEqual(everything.slice(2, 4));
    const rest = await listProducers(1000, second.nextPageToken);
    expect(rest.producers.map((p) => p.name)).toEqual(['p4', 'late']);
    expect(rest.nextPageToken).toBe('');
  });

  it('pages one producer’s job types by name and refuses its token for another producer', async () => {
    const a = (await call(jack.admin, 'createProducer', { name: 'a', description: '' })).producer;
    const b = (await call(jack.admin, 'createProducer', { name: 'b', description: '' })).producer;
    const producerId = a?.producerId ?? '';
    for (const name of ['delta', 'alpha', 'charlie', 'bravo']) {
      await call(jack.admin, 'createJobType', {
        producerId,
        name,
        queue: Queue.QUEUE_LOW,
        maxRetries: 0,
        description: '',
      });
    }
    const first = await call(jack.admin, 'listJobTypes', {
      producerId,
      pageSize: 3,
      pageToken: '',
    });
    expect(first.jobTypes.map((t) => t.name)).toEqual(['alpha', 'bravo', 'charlie']);
    const second = await call(jack.admin, 'listJobTypes', {
      producerId,
      pageSize: 3,
      pageToken: first.nextPageToken,
    });
    expect(second.jobTypes.map((t) => t.name)).toEqual(['delta']);
    expect(second.nextPageToken).toBe('');

    const details =
      'page_token is not valid for this list: pass the next_page_token of the previous page unchanged, with the same other fields';
    const elsewhere = await callError(
      call(jack.admin, 'listJobTypes', {
        producerId: b?.producerId ?? '',
        pageSize: 3,
        pageToken: first.nextPageToken,
      }),
    );
    expect(elsewhere).toEqual({ code: status.INVALID_ARGUMENT, details });
    expect(await callError(listProducers(3, first.nextPageToken))).toEqual({
      code: status.INVALID_ARGUMENT,
      details,
    });
  });

  it('pages API keys oldest first, per producer_id, and refuses a token for another producer_id', async () => {
    const producerId = (await call(jack.admin, 'createProducer', { name: 'keys', description: '' }))
      .producer?.producerId as string;
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await call(jack.admin, 'createApiKey', {
        producerId,
        description: `k${i}`,
        role: KeyRole.KEY_ROLE_UNSPECIFIED,
      });
      created.push(r.apiKey?.keyId as string);
    }
    const listKeys = (pageSize: number, pageToken: string, of = producerId) =>
      call(jack.admin, 'listApiKeys', { producerId: of, pageSize, pageToken });
    const everything = await listKeys(0, '');
    expect(everything.apiKeys.map((k) => k.description)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(everything.nextPageToken).toBe('');

    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const page = await listKeys(2, token);
      seen.push(...page.apiKeys.map((k) => k.keyId));
      token = page.nextPageToken;
      pages++;
    } while (token !== '' && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(everything.apiKeys.map((k) => k.keyId));
    expect(new Set(seen)).toEqual(new Set(created));

    const first = await listKeys(2, '');
    const err = await callError(listKeys(2, first.nextPageToken, ''));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^page_token is not valid for this list/);
  });

  it.each([
    ['a forged token', 'eyJzIjoicHJvZHVjZXJzIn0.AAAAAAAAAAAAAAAA'],
    ['random bytes', '\u0000\u00ff garbage'],
    ['a huge token', 'x'.repeat(100_000)],
  ])('answers %s with INVALID_ARGUMENT', async (_why, pageToken) => {
    const err = await callError(listProducers(2, pageToken));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^page_token is not valid for this list/);
  });

  it('refuses a negative page_size', async () => {
    expect(await callError(listProducers(-1))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'page_size must not be negative',
    });
  });
});

describe('AdminService §10: page_size cap', () => {
  it('answers page_size 5000 with 1000 producers and a token for the rest', async () => {
    const objects = createMemoryObjects();
    const at = (i: number) => new Date(1_700_000_000_000 + i);
    const producers = Array.from({ length: 1200 }, (_, i) => ({
      producerId: `prod_${i.toString(16).padStart(8, '0')}`,
      name: `p${i}`,
      description: '',
      rateLimitRps: 1000,
      principals: [],
      createdAt: at(i),
      updatedAt: at(i),
    }));
    await objects.write('producers.json', encodeProducers(producers), ABSENT_GENERATION);
    const jack = await startJack({}, { memoryObjects: objects });
    try {
      const first = await call(jack.admin, 'listProducers', { pageSize: 5000, pageToken: '' });
      expect(first.producers).toHaveLength(1000);
      const rest = await call(jack.admin, 'listProducers', {
        pageSize: 5000,
        pageToken: first.nextPageToken,
      });
      expect(rest.producers.map((p) => p.name)).toEqual(producers.slice(1000).map((p) => p.name));
      expect(rest.nextPageToken).toBe('');
      const all = await call(jack.admin, 'listProducers', { pageSize: 0, pageToken: '' });
      expect(all.producers).toHaveLength(1200);
    } finally {
      await jack.close();
    }
  });
});

/**
 * QA (hostile black-box) of SPEC §10 paging over a real socket: page_size
 * 1 / 1001 / negative, a stale token whose record was deleted, and tokens
 * Jack did not issue — also ones that differ from an issued token only in
 * a character base64url decoding ignores.
 */
describe('paging edges', () => {
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
