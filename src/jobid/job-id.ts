/**
 * Job ids (SPEC §2): `pjob_` + base62 of 21 bytes
 *   [0] version = 1 · [1..6] ms since epoch, 48-bit BE · [7..10] SHA-256(producer_id)[0..4]
 *   [11..14] SHA-256(job_type)[0..4] · [15..18] random · [19..20] low 16 bits of CRC-32(bytes 0..18), BE
 * An id decodes back to its creation time and proves itself with its checksum.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { JackError } from '../errors.js';

export const JOB_ID_PREFIX = 'pjob_';
export const JOB_ID_VERSION = 1;
const RAW_BYTES = 21;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ALPHABET_INDEX = new Map([...ALPHABET].map((c, i) => [c, BigInt(i)]));

export interface DecodedJobId {
  version: number;
  /** The job's created_at, to the millisecond. */
  createdAt: Date;
  /** First 4 bytes of SHA-256(producer_id). */
  producerHash: Buffer;
  /** First 4 bytes of SHA-256(job_type). */
  jobTypeHash: Buffer;
  random: Buffer;
}

/** First 4 bytes of SHA-256 of the UTF-8 text. */
export function hashPrefix(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest().subarray(0, 4);
}

/** Encodes bytes as base62 of one big-endian integer; each leading zero byte adds a '0'. */
export function base62Encode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  let value = 0n;
  for (let i = zeros; i < bytes.length; i++) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  let digits = '';
  while (value > 0n) {
    digits = ALPHABET[Number(value % 62n)] + digits;
    value /= 62n;
  }
  return '0'.repeat(zeros) + digits;
}

/** Inverse of base62Encode; undefined when the text is not base62. */
export function base62Decode(text: string): Buffer | undefined {
  let zeros = 0;
  while (zeros < text.length && text[zeros] === '0') zeros++;
  let value = 0n;
  for (let i = zeros; i < text.length; i++) {
    const digit = ALPHABET_INDEX.get(text[i] ?? '');
    if (digit === undefined) return undefined;
    value = value * 62n + digit;
  }
  const body: number[] = [];
  while (value > 0n) {
    body.unshift(Number(value & 0xffn));
    value >>= 8n;
  }
  return Buffer.from([...new Array<number>(zeros).fill(0), ...body]);
}

export interface JobIdGenerator {
  /** A fresh id for a job of this producer and type created at `createdAtMs`. */
  next(producerId: string, jobType: string, createdAtMs: number): string;
}

/** Hash prefixes are cached: producers and job types repeat on every call. */
const HASH_CACHE_LIMIT = 10_000;

/** Creates a generator. `random` fills a buffer with random bytes (tests may fix it). */
export function createJobIdGenerator(
  random: (buffer: Buffer) => void = (b) => randomFillSync(b),
): JobIdGenerator {
  const hashes = new Map<string, Buffer>();
  const cachedHash = (text: string): Buffer => {
    let hash = hashes.get(text);
    if (hash === undefined) {
      if (hashes.size >= HASH_CACHE_LIMIT) hashes.clear();
      hash = hashPrefix(text);
      hashes.set(text, hash);
    }
    return hash;
  };
  // Random bytes come from a pool: one syscall per 1024 ids instead of one per id.
  const pool = Buffer.alloc(4096);
  let poolOffset = pool.length;
  const raw = Buffer.alloc(RAW_BYTES);

  return {
    next(producerId, jobType, createdAtMs) {
      if (poolOffset + 4 > pool.length) {
        random(pool);
        poolOffset = 0;
      }
      raw[0] = JOB_ID_VERSION;
      raw.writeUIntBE(createdAtMs, 1, 6);
      cachedHash(producerId).copy(raw, 7);
      cachedHash(jobType).copy(raw, 11);
      pool.copy(raw, 15, poolOffset, poolOffset + 4);
      poolOffset += 4;
      raw.writeUInt16BE(crc32(raw.subarray(0, 19)) & 0xffff, 19);
      return JOB_ID_PREFIX + base62Encode(raw);
    },
  };
}

/**
 * Decodes and verifies an id.
 * @throws JackError invalid_argument when the id is malformed, of an unknown
 *   version, or fails its checksum.
 */
export function decodeJobId(id: string): DecodedJobId {
  const invalid = (why: string) =>
    new JackError('invalid_argument', `invalid job_id "${id}": ${why}`);
  if (!id.startsWith(JOB_ID_PREFIX)) throw invalid(`does not start with ${JOB_ID_PREFIX}`);
  const raw = base62Decode(id.slice(JOB_ID_PREFIX.length));
  if (raw === undefined) throw invalid('not base62');
  if (raw.length !== RAW_BYTES)
    throw invalid(`decodes to ${raw.length} bytes, expected ${RAW_BYTES}`);
  if (raw[0] !== JOB_ID_VERSION) throw invalid(`unknown version ${raw[0]}`);
  if ((crc32(raw.subarray(0, 19)) & 0xffff) !== raw.readUInt16BE(19))
    throw invalid('checksum mismatch');
  return {
    version: JOB_ID_VERSION,
    createdAt: new Date(raw.readUIntBE(1, 6)),
    producerHash: raw.subarray(7, 11),
    jobTypeHash: raw.subarray(11, 15),
    random: raw.subarray(15, 19),
  };
}

/** True when the decoded id was made for this producer. */
export function isJobOfProducer(decoded: DecodedJobId, producerId: string): boolean {
  return decoded.producerHash.equals(hashPrefix(producerId));
}
