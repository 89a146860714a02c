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

/** ASCII codes of the base62 digits, for building ids without string concatenation. */
const ALPHABET_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const digitScratch = Buffer.alloc(64);
const limbScratch = new Int32Array(24);
const BASE62_CHUNK = 62 ** 4;

/**
 * Encodes bytes as base62 of one big-endian integer; each leading zero byte adds a '0'.
 * Long division on 24-bit limbs in preallocated scratch arrays: this runs
 * once per job on the enqueue hot path, where a BigInt version allocated on
 * every digit (about 10× slower).
 */
export function base62Encode(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const significant = bytes.length - zeros;
  const limbCount = Math.ceil(significant / 3);
  // ⌈8·n / log2(62)⌉ digits at most; 1.35 > 8 / log2(62) ≈ 1.3436.
  const digitCapacity = Math.ceil(significant * 1.35) + 1;
  const limbs = limbCount <= limbScratch.length ? limbScratch : new Int32Array(limbCount);
  const digits = digitCapacity <= digitScratch.length ? digitScratch : Buffer.alloc(digitCapacity);
  // Big-endian limbs; the first takes the bytes left over by a length not divisible by 3.
  let at = zeros;
  const head = significant % 3 === 0 ? 3 : significant % 3;
  for (let i = 0; i < limbCount; i++) {
    let limb = 0;
    for (let k = i === 0 ? head : 3; k > 0; k--) limb = (limb << 8) | (bytes[at++] ?? 0);
    limbs[i] = limb;
  }
  // Divides by 62^4 per pass, so each pass yields four digits, least
  // significant first: fill the scratch from its end. 62^4 · 2^24 < 2^53, so
  // the float arithmetic is exact.
  let first = 0;
  let start = digitCapacity;
  while (first < limbCount) {
    let remainder = 0;
    for (let i = first; i < limbCount; i++) {
      const value = remainder * 0x1000000 + (limbs[i] ?? 0);
      const quotient = Math.floor(value / BASE62_CHUNK);
      remainder = value - quotient * BASE62_CHUNK;
      limbs[i] = quotient;
    }
    while (first < limbCount && limbs[first] === 0) first++;
    const last = first === limbCount;
    // The last pass writes no leading zeros.
    for (let k = 0; k < 4 && !(last && remainder === 0); k++) {
      const quotient = Math.floor(remainder / 62);
      digits[--start] = ALPHABET_CODES[remainder - quotient * 62] ?? 0;
      remainder = quotient;
    }
  }
  const body = digits.toString('latin1', start, digitCapacity);
  return zeros === 0 ? body : '0'.repeat(zeros) + body;
}

/** Digit value per ASCII code; -1 for a character that is not base62. */
const DIGIT_OF = Int8Array.from({ length: 128 }, (_, code) =>
  ALPHABET.indexOf(String.fromCharCode(code)),
);

/**
 * Inverse of base62Encode; undefined when the text is not base62.
 * Multiply-and-add on 24-bit limbs (least significant first): every
 * ReportJobStatus and GetJob decodes an id, and a BigInt per digit cost
 * about 20 µs of a report's CPU.
 */
export function base62Decode(text: string): Buffer | undefined {
  let zeros = 0;
  while (zeros < text.length && text.charCodeAt(zeros) === 48) zeros++;
  // ⌈n · log2(62) / 24⌉ limbs at most; log2(62) < 5.96.
  const limbs = new Int32Array(Math.ceil(((text.length - zeros) * 5.96) / 24) + 1);
  let used = 0;
  for (let i = zeros; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const digit = code < 128 ? (DIGIT_OF[code] ?? -1) : -1;
    if (digit < 0) return undefined;
    let carry = digit;
    for (let k = 0; k < used; k++) {
      // < 2^24 · 62 + 62 < 2^30: exact in int32 arithmetic.
      const value = (limbs[k] ?? 0) * 62 + carry;
      limbs[k] = value & 0xffffff;
      carry = value >>> 24;
    }
    if (carry > 0) limbs[used++] = carry;
  }
  const bytes: number[] = [];
  for (let k = 0; k < used; k++) {
    const limb = limbs[k] ?? 0;
    bytes.push(limb & 0xff, (limb >>> 8) & 0xff, limb >>> 16);
  }
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes.pop();
  const out = Buffer.alloc(zeros + bytes.length);
  for (let i = 0; i < bytes.length; i++) out[out.length - 1 - i] = bytes[i] ?? 0;
  return out;
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
  // The checksummed bytes, as one view made once rather than per id.
  const checksummed = raw.subarray(0, 19);
  let lastProducerId: string | undefined;
  let lastProducerHash: Buffer = Buffer.alloc(4);
  let lastJobType: string | undefined;
  let lastJobTypeHash: Buffer = Buffer.alloc(4);
  let lastMs = Number.NaN;
  let lastRandom = 0;

  return {
    next(producerId, jobType, createdAtMs) {
      if (poolOffset + 4 > pool.length) {
        random(pool);
        poolOffset = 0;
      }
      raw[0] = JOB_ID_VERSION;
      raw.writeUIntBE(createdAtMs, 1, 6);
      // Consecutive jobs (a bulk call, a busy producer) repeat both strings:
      // compare with the last ones before hashing the text into the Map.
      if (producerId !== lastProducerId) {
        lastProducerHash = cachedHash(producerId);
        lastProducerId = producerId;
      }
      if (jobType !== lastJobType) {
        lastJobTypeHash = cachedHash(jobType);
        lastJobType = jobType;
      }
      lastProducerHash.copy(raw, 7);
      lastJobTypeHash.copy(raw, 11);
      if (createdAtMs === lastMs) {
        // Same millisecond: the last random bytes + 1, so this generator
        // never repeats an id (4 fresh random bytes collide for ~1 % of
        // 10 000 jobs of one producer and type in one millisecond, and a
        // repeated id is a lost job where the backend de-duplicates by it).
        lastRandom = (lastRandom + 1) >>> 0;
      } else {
        lastRandom = pool.readUInt32BE(poolOffset);
        poolOffset += 4;
        lastMs = createdAtMs;
      }
      raw.writeUInt32BE(lastRandom, 15);
      raw.writeUInt16BE(crc32(checksummed) & 0xffff, 19);
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
