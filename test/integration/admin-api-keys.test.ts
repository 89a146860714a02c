/**
 * SPEC §10 API-key RPCs over gRPC: the token is returned once and only its
 * SHA-256 is stored; listing never shows a hash; revoke and NOT_FOUND.
 */
import { createHash, randomBytes } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryObjects } from '../../src/storage/memory.js';
import { call, callError, enqueueRequest, type RunningJack, startJack } from '../support/jack.js';

describe('AdminService §10: API keys', () => {
  const objects = createMemoryObjects();
  let jack: RunningJack;
  let producerId: string;
  beforeAll(async () => {
    jack = await startJack({}, { memoryObjects: objects });
    const { producer } = await call(jack.admin, 'createProducer', { name: 'p', description: '' });
    producerId = producer?.producerId ?? '';
  });
  afterAll(async () => {
    await jack.close();
  });

  const createKey = (producer: string, description = '') =>
    call(jack.admin, 'createApiKey', { producerId: producer, description, role: 0 });

  it('returns a jk_ token naming its key id once, and stores only its SHA-256', async () => {
    const before = Date.now();
    const { apiKey, token } = await createKey(producerId, 'ci deploys');
    const match = /^jk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/.exec(token);
    expect(match).not.toBeNull();
    expect(apiKey).toEqual({
      keyId: `key_${match?.[1]}`,
      producerId,
      description: 'ci deploys',
      createdAt: apiKey?.createdAt,
      role: 0,
    });
    expect(apiKey?.createdAt?.getTime()).toBeGreaterThanOrEqual(before);
    const stored = jack.app.store.getApiKey(apiKey?.keyId ?? '');
    expect(stored?.tokenSha256).toEqual(createHash('sha256').update(token).digest());
    const text = (await objects.read('api_keys.json')).text ?? '';
    expect(text).toContain(apiKey?.keyId);
    expect(text).not.toContain(token.slice(20));
  });

  it('creates an admin key for an empty producer_id', async () => {
    const { apiKey } = await createKey('', 'bootstrap replacement');
    expect(apiKey?.producerId).toBe('');
  });

  it('answers an unknown producer with NOT_FOUND naming it, and a long description with INVALID_ARGUMENT', async () => {
    expect(await callError(createKey('prod_00000000'))).toEqual({
      code: status.NOT_FOUND,
      details: 'producer not found: prod_00000000',
    });
    expect(await callError(createKey(producerId, 'd'.repeat(4097)))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'description is longer than 4096 bytes',
    });
  });

  it('lists all keys for an empty producer_id, one producer’s otherwise, never a hash', async () => {
    const { producer: other } = await call(jack.admin, 'createProducer', {
      name: 'other',
      description: '',
    });
    const mine = await createKey(producerId, 'mine');
    const theirs = await createKey(other?.producerId ?? '', 'theirs');
    const all = await call(jack.admin, 'listApiKeys', {
      producerId: '',
      pageSize: 0,
      pageToken: '',
    });
    const ids = all.apiKeys.map((k) => k.keyId);
    expect(ids).toContain(mine.apiKey?.keyId);
    expect(ids).toContain(theirs.apiKey?.keyId);
    const onlyMine = await call(jack.admin, 'listApiKeys', {
      producerId,
      pageSize: 0,
      pageToken: '',
    });
    expect(onlyMine.apiKeys.every((k) => k.producerId === producerId)).toBe(true);
    expect(onlyMine.apiKeys).toContainEqual(mine.apiKey);
    for (const key of all.apiKeys)
      expect(Object.keys(key).sort()).toEqual([
        'createdAt',
        'description',
        'keyId',
        'producerId',
        'role',
      ]);
  });

  it('revokes a key at once; a second revoke or an unknown id is NOT_FOUND naming it', async () => {
    const { apiKey } = await createKey(producerId, 'short-lived');
    const keyId = apiKey?.keyId ?? '';
    await call(jack.admin, 'revokeApiKey', { keyId });
    expect(jack.app.store.getApiKey(keyId)).toBeUndefined();
    const listed = await call(jack.admin, 'listApiKeys', {
      producerId: '',
      pageSize: 0,
      pageToken: '',
    });
    expect(listed.apiKeys.map((k) => k.keyId)).not.toContain(keyId);
    expect(await callError(call(jack.admin, 'revokeApiKey', { keyId }))).toEqual({
      code: status.NOT_FOUND,
      details: `API key not found: ${keyId}`,
    });
    expect(await callError(call(jack.admin, 'revokeApiKey', { keyId: '' }))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: 'key_id is required',
    });
  });
});

describe('API keys issued by CreateApiKey, with AUTH_MODE=on', () => {
  const BOOTSTRAP = `boot-${randomBytes(24).toString('hex')}`;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack({ AUTH_MODE: 'on', AUTH_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP });
  });
  afterAll(async () => {
    await jack.close();
  });

  const admin = () => bearer(BOOTSTRAP);
  const enqueueWith = (token: string, producerId: string) =>
    call(jack.jobs, 'enqueue', enqueueRequest({ producerId, jobType: 'x' }), bearer(token));

  it('authenticates with the returned token until the key is revoked', async () => {
    const { producer } = await call(
      jack.admin,
      'createProducer',
      { name: 'keyed', description: '' },
      admin(),
    );
    const producerId = producer?.producerId ?? '';
    const { apiKey, token } = await call(
      jack.admin,
      'createApiKey',
      { producerId, description: '', role: 0 },
      admin(),
    );
    expect((await enqueueWith(token, producerId)).jobId).not.toBe('');
    await call(jack.admin, 'revokeApiKey', { keyId: apiKey?.keyId ?? '' }, admin());
    expect((await callError(enqueueWith(token, producerId))).code).toBe(status.UNAUTHENTICATED);
  });

  it('a deleted producer’s keys stop authenticating at once', async () => {
    const { producer } = await call(
      jack.admin,
      'createProducer',
      { name: 'doomed', description: '' },
      admin(),
    );
    const producerId = producer?.producerId ?? '';
    const { token } = await call(
      jack.admin,
      'createApiKey',
      { producerId, description: '', role: 0 },
      admin(),
    );
    expect((await enqueueWith(token, producerId)).jobId).not.toBe('');
    await call(jack.admin, 'deleteProducer', { producerId }, admin());
    expect((await callError(enqueueWith(token, producerId))).code).toBe(status.UNAUTHENTICATED);
  });
});
