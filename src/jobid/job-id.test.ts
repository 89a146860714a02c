import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JackError } from '../errors.js';
import {
  base62Decode,
  base62Encode,
  createJobIdGenerator,
  decodeJobId,
  hashPrefix,
  isJobOfProducer,
  JOB_ID_PREFIX,
} from './job-id.js';

// An independent reading of SPEC §2 "Job id", written without the module's
// helpers: bitwise CRC-32 (IEEE, reflected 0xEDB88320) and base62 by
// repeated division of one big-endian integer.

function crc32Ieee(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function toBase62(bytes: Uint8Array): string {
  let leadingZeros = '';
  let i = 0;
  for (; i < bytes.length && bytes[i] === 0; i++) leadingZeros += '0';
  let n = BigInt(`0x${Buffer.from(bytes.subarray(i)).toString('hex') || '0'}`);
  let out = '';
  for (; n > 0n; n /= 62n) out = BASE62.charAt(Number(n % 62n)) + out;
  return leadingZeros + out;
}

const sha256Prefix = (text: string) =>
  createHash('sha256').update(Buffer.from(text, 'utf8')).digest().subarray(0, 4);

function expectedId(
  producerId: string,
  jobType: string,
  ms: number,
  random: ArrayLike<number>,
): { id: string; raw: Buffer } {
  const raw = Buffer.alloc(21);
  raw[0] = 1;
  // 48-bit big-endian milliseconds, byte by byte.
  for (let k = 0; k < 6; k++) raw[1 + k] = Math.floor(ms / 2 ** (8 * (5 - k))) % 256;
  sha256Prefix(producerId).copy(raw, 7);
  sha256Prefix(jobType).copy(raw, 11);
  Buffer.from(Uint8Array.from(random)).copy(raw, 15);
  const crc = crc32Ieee(raw.subarray(0, 19)) & 0xffff;
  raw[19] = crc >> 8;
  raw[20] = crc & 0xff;
  return { id: `pjob_${toBase62(raw)}`, raw };
}

/** A deterministic random source: byte i of every fill is (7i + 3) mod 256. */
const fixedRandom = (buffer: Buffer) => {
  for (let i = 0; i < buffer.length; i++) buffer[i] = (7 * i + 3) % 256;
};

const MS = Date.parse('2026-11-22T10:20:30.456Z');

describe('job ids', () => {
  it('lay out version, time, hashes, random and checksum exactly as SPEC says', () => {
    const ids = createJobIdGenerator(fixedRandom);
    const first = ids.next('prod_1a2b3c4d', 'send_email', MS);
    const second = ids.next('prod_1a2b3c4d', 'send_email', MS + 1);
    expect(first).toBe(expectedId('prod_1a2b3c4d', 'send_email', MS, [3, 10, 17, 24]).id);
    expect(second).toBe(expectedId('prod_1a2b3c4d', 'send_email', MS + 1, [31, 38, 45, 52]).id);
  });

  it('hashes the UTF-8 bytes of non-ASCII producer ids and job types', () => {
    const ids = createJobIdGenerator(fixedRandom);
    const id = ids.next('prod_ünïcode', 'envoyer_le_reçu_📧', MS);
    expect(id).toBe(expectedId('prod_ünïcode', 'envoyer_le_reçu_📧', MS, [3, 10, 17, 24]).id);
  });

  it('encode the largest 48-bit time', () => {
    const max = 2 ** 48 - 1;
    const id = createJobIdGenerator(fixedRandom).next('p', 't', max);
    expect(id).toBe(expectedId('p', 't', max, [3, 10, 17, 24]).id);
    expect(decodeJobId(id).createdAt.getTime()).toBe(max);
  });

  it('round-trip: decode returns the time and both hashes', () => {
    const id = createJobIdGenerator().next('prod_00c0ffee', 'resize_image', MS);
    expect(id.startsWith(JOB_ID_PREFIX)).toBe(true);
    const decoded = decodeJobId(id);
    expect(decoded.version).toBe(1);
    expect(decoded.createdAt.toISOString()).toBe('2026-11-22T10:20:30.456Z');
    expect(decoded.producerHash.equals(sha256Prefix('prod_00c0ffee'))).toBe(true);
    expect(decoded.jobTypeHash.equals(sha256Prefix('resize_image'))).toBe(true);
    expect(decoded.random).toHaveLength(4);
    expect(isJobOfProducer(decoded, 'prod_00c0ffee')).toBe(true);
    expect(isJobOfProducer(decoded, 'prod_00c0fffe')).toBe(false);
  });

  it('hashPrefix is the first 4 bytes of SHA-256', () => {
    for (const text of ['', 'a', 'prod_12345678', 'é€😀']) {
      expect(hashPrefix(text).equals(sha256Prefix(text))).toBe(true);
    }
  });

  it('in one millisecond, the next id of a generator takes the last random bytes + 1', () => {
    const ids = createJobIdGenerator(fixedRandom);
    ids.next('prod_1a2b3c4d', 'send_email', MS);
    // Another producer and type, the same millisecond: still the next value.
    expect(ids.next('p', 't', MS)).toBe(expectedId('p', 't', MS, [3, 10, 17, 25]).id);
    // A new millisecond draws fresh random bytes.
    expect(ids.next('p', 't', MS + 1)).toBe(expectedId('p', 't', MS + 1, [31, 38, 45, 52]).id);
    const wrap = createJobIdGenerator((b) => b.fill(0xff));
    wrap.next('p', 't', MS);
    expect(wrap.next('p', 't', MS)).toBe(expectedId('p', 't', MS, [0, 0, 0, 0]).id);
  });

  it('10 000 ids of the same producer, type and millisecond are unique', () => {
    const ids = createJobIdGenerator();
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) seen.add(ids.next('prod_same', 'same_type', MS));
    expect(seen.size).toBe(10_000);
  });

  it('detects a changed character through the checksum', () => {
    const id = createJobIdGenerator(fixedRandom).next('prod_1a2b3c4d', 'send_email', MS);
    const last = id.at(-1) ?? '';
    const flipped = id.slice(0, -1) + (last === 'a' ? 'b' : 'a');
    expect(() => decodeJobId(flipped)).toThrow(
      new JackError('invalid_argument', `invalid job_id "${flipped}": checksum mismatch`),
    );
  });

  it('detects a change of any character in the body', () => {
    const id = createJobIdGenerator(fixedRandom).next('prod_1a2b3c4d', 'send_email', MS);
    for (let i = JOB_ID_PREFIX.length; i < id.length; i++) {
      const c = id.charAt(i);
      const replaced = id.slice(0, i) + (c === 'z' ? 'y' : 'z') + id.slice(i + 1);
      expect(() => decodeJobId(replaced), `position ${i}`).toThrow(JackError);
    }
  });

  it.each([
    { id: 'job_123', why: 'does not start with pjob_' },
    { id: 'pjob_abc-def', why: 'not base62' },
    { id: 'pjob_', why: 'decodes to 0 bytes, expected 21' },
    { id: 'pjob_1abc', why: 'decodes to 3 bytes, expected 21' },
  ])('rejects $id: $why', ({ id, why }) => {
    expect(() => decodeJobId(id)).toThrow(
      new JackError('invalid_argument', `invalid job_id "${id}": ${why}`),
    );
  });

  it('rejects an unknown version even with a valid checksum', () => {
    const { raw } = expectedId('p', 't', MS, [1, 2, 3, 4]);
    raw[0] = 2;
    raw.writeUInt16BE(crc32Ieee(raw.subarray(0, 19)) & 0xffff, 19);
    const id = `pjob_${toBase62(raw)}`;
    expect(() => decodeJobId(id)).toThrow(`invalid job_id "${id}": unknown version 2`);
  });
});

describe('base62', () => {
  it.each([
    { bytes: [], text: '' },
    { bytes: [0], text: '0' },
    { bytes: [0, 0], text: '00' },
    { bytes: [0, 0, 1], text: '001' },
    { bytes: [0, 61], text: '0z' },
    { bytes: [0, 62], text: '010' },
    { bytes: [1, 0], text: '48' },
    { bytes: [255], text: '47' },
    { bytes: [0, 0, 255, 255], text: '00H31' },
  ])('$bytes ↔ "$text"', ({ bytes, text }) => {
    expect(base62Encode(Uint8Array.from(bytes))).toBe(text);
    expect(toBase62(Uint8Array.from(bytes))).toBe(text);
    expect([...(base62Decode(text) ?? [])]).toEqual(bytes);
  });

  it('round-trips random byte strings, leading zero bytes included', () => {
    for (let n = 0; n < 200; n++) {
      const bytes = Buffer.alloc(1 + (n % 25));
      for (let i = 0; i < bytes.length; i++) bytes[i] = (n * 31 + i * 17) % 256;
      bytes.fill(0, 0, Math.min(n % 4, bytes.length)); // 0–3 leading zero bytes
      const text = base62Encode(bytes);
      expect(text).toBe(toBase62(bytes));
      expect(base62Decode(text)?.equals(bytes)).toBe(true);
    }
  });

  it('decodes any base62 text as a BigInt reference does (texts no encoder wrote included)', () => {
    const digits = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    const reference = (text: string): number[] => {
      const zeros = text.length - text.replace(/^0+/, '').length;
      let value = 0n;
      for (const c of text.slice(zeros)) value = value * 62n + BigInt(digits.indexOf(c));
      const body: number[] = [];
      for (; value > 0n; value >>= 8n) body.unshift(Number(value & 0xffn));
      return [...new Array<number>(zeros).fill(0), ...body];
    };
    for (let n = 0; n < 300; n++) {
      let text = '';
      for (let i = 0; i < n % 40; i++) text += digits[(n * 7 + i * 13 + ((i * i) % 11)) % 62];
      expect([...(base62Decode(text) ?? [])]).toEqual(reference(text));
    }
    expect([...(base62Decode('zzzzzzzzzzzzzzzzzzzzzzzzzzzzz') ?? [])]).toEqual(
      reference('zzzzzzzzzzzzzzzzzzzzzzzzzzzzz'),
    );
  });

  it('rejects characters outside 0-9A-Za-z', () => {
    expect(base62Decode('ab_c')).toBeUndefined();
    expect(base62Decode('é')).toBeUndefined();
  });
});
