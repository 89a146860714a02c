import { createHash } from 'node:crypto';
import { type Bucket, type File, IdempotencyStrategy, Storage } from '@google-cloud/storage';
import type { Logger } from 'pino';
import type { StoreConfig } from '../config/index.js';
import { JackError, toError } from '../errors.js';
import { requireGoogleCredentials } from '../google-credentials.js';
import { createCachedStore } from './cached-store.js';
import {
  ABSENT_GENERATION,
  type ObjectIO,
  type Store,
  type StoredObject,
  type StoreObjectName,
} from './store.js';

export type GcsStoreConfig = Extract<StoreConfig, { kind: 'gcs' }>;

export interface GcsStoreOptions {
  config: GcsStoreConfig;
  logger: Logger;
  refreshIntervalMs: number;
  onRefresh?: (error: Error | undefined) => void;
}

/**
 * Client retries are bounded so that an outage reaches the caller as
 * UNAVAILABLE within a typical 10 s client deadline instead of being retried
 * for the library's default 10 minutes: at most 3 attempts, 1 s apart at
 * most, none started after 5 s; each HTTP request may take 4 s.
 */
const RETRY_OPTIONS = {
  autoRetry: true,
  maxRetries: 2,
  retryDelayMultiplier: 2,
  maxRetryDelay: 1,
  totalTimeout: 5,
  // Our writes always carry ifGenerationMatch, which makes them safe to retry.
  idempotencyStrategy: IdempotencyStrategy.RetryConditional,
};
const REQUEST_TIMEOUT_MS = 4_000;

/**
 * The GCS config store: `producers.json`, `job_types.json` and `api_keys.json` under
 * `gs://GCS_BUCKET/GCS_PREFIX`, written with generation preconditions and
 * re-read on every refresh (one metadata call per object when unchanged).
 *
 * Startup fails with a one-line JackError when the bucket does not exist,
 * the credentials are refused or the service cannot be reached.
 */
export async function createGcsStore(options: GcsStoreOptions): Promise<Store> {
  const { config, logger } = options;
  const io = createGcsObjects(config);
  // An emulator (GCS_ENDPOINT, STORAGE_EMULATOR_HOST) is sent no credentials.
  if (!io.bucket.storage.customEndpoint) {
    await requireGoogleCredentials(
      io.bucket.storage.authClient,
      'the GCS config store (GCS_BUCKET)',
    );
  }
  await checkBucket(io.bucket, config, logger);
  return createCachedStore(io, options);
}

interface GcsObjects extends ObjectIO {
  readonly bucket: Bucket;
}

/**
 * Raw access to the store objects in a bucket. A custom endpoint (GCS_ENDPOINT
 * or the client's own STORAGE_EMULATOR_HOST) is an emulator: the client then
 * sends no credentials.
 */
export function createGcsObjects(config: GcsStoreConfig): GcsObjects {
  const storage = new Storage({
    ...(config.apiEndpoint === undefined ? {} : { apiEndpoint: config.apiEndpoint }),
    retryOptions: RETRY_OPTIONS,
    timeout: REQUEST_TIMEOUT_MS,
  });
  const bucket = storage.bucket(config.bucket);
  const location = `gs://${config.bucket}/${config.prefix}`;
  const objectName = (name: StoreObjectName) => `${config.prefix}${name}`;

  const read = async (name: StoreObjectName, knownGeneration?: string): Promise<StoredObject> => {
    const path = objectName(name);
    const file = bucket.file(path);
    let generation: string;
    try {
      const [metadata] = await file.getMetadata();
      generation = String(metadata.generation);
    } catch (err) {
      if (isObjectNotFound(err)) {
        return {
          generation: ABSENT_GENERATION,
          text: undefined,
          unchanged: knownGeneration === ABSENT_GENERATION,
        };
      }
      throw gcsError('read', config.bucket, path, err);
    }
    if (generation === knownGeneration) return { generation, text: undefined, unchanged: true };
    try {
      const { text, servedGeneration } = await download(file);
      // The download may serve a newer generation than the metadata named
      // (another replica wrote in between); GCS says which in a header. Without
      // the header the older number is still safe: a write based on it fails
      // its precondition and re-reads, and the next refresh downloads again.
      return { generation: servedGeneration ?? generation, text, unchanged: false };
    } catch (err) {
      // Deleted between the two calls.
      if (isObjectNotFound(err)) {
        return { generation: ABSENT_GENERATION, text: undefined, unchanged: false };
      }
      throw gcsError('read', config.bucket, path, err);
    }
  };

  const write = async (
    name: StoreObjectName,
    text: string,
    ifGeneration: string,
  ): Promise<string> => {
    const path = objectName(name);
    const file = bucket.file(path);
    try {
      await file.save(text, {
        // One request (multipart) per write: the objects are small, and a
        // resumable session would add a round trip and state to clean up.
        resumable: false,
        contentType: 'application/json',
        // The server checks the MD5 and refuses a corrupted upload. The
        // client-side check is off because on a mismatch it deletes the
        // object, which for shared config is worse than the mismatch.
        validation: false,
        metadata: { md5Hash: createHash('md5').update(text, 'utf8').digest('base64') },
        preconditionOpts: { ifGenerationMatch: ifGeneration },
      });
    } catch (err) {
      if (httpStatus(err) === 412) {
        throw new JackError(
          'aborted',
          `gs://${config.bucket}/${path} changed since generation ${ifGeneration}`,
          { cause: err },
        );
      }
      throw gcsError('write', config.bucket, path, err);
    }
    const generation = file.metadata.generation;
    if (generation === undefined || generation === null) {
      throw new JackError('internal', 'the config store answered a write without a version', {
        cause: new Error(`gs://${config.bucket}/${path}: upload response carried no generation`),
      });
    }
    return String(generation);
  };

  return {
    kind: 'gcs',
    location,
    bucket,
    read,
    write,
    async close() {
      // The client holds no connections or timers that need releasing.
    },
  };
}

/**
 * Fails startup with a one-line reason when the bucket is missing or the
 * service unreachable. A 403 is tolerated here: buckets.get is not part of
 * the object roles a store needs (roles/storage.objectUser), and the first
 * object read that follows reports a real permission problem.
 */
async function checkBucket(bucket: Bucket, config: GcsStoreConfig, logger: Logger) {
  try {
    await bucket.getMetadata();
  } catch (err) {
    const status = httpStatus(err);
    if (status === 404) {
      throw new JackError('failed_precondition', `GCS bucket ${config.bucket} does not exist`, {
        cause: err,
      });
    }
    if (status === 403) {
      logger.info(
        { bucket: config.bucket },
        'cannot read bucket metadata (no storage.buckets.get); the object reads will check access',
      );
      return;
    }
    throw gcsError('open bucket', config.bucket, '', err);
  }
}

/** The object's text and the generation the server says it served. */
async function download(
  file: File,
): Promise<{ text: string; servedGeneration: string | undefined }> {
  let servedGeneration: string | undefined;
  const stream = file.createReadStream();
  stream.on('response', (response: { headers?: Record<string, unknown> }) => {
    const header = response.headers?.['x-goog-generation'];
    if (typeof header === 'string' && /^\d+$/.test(header)) servedGeneration = header;
  });
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { text: Buffer.concat(chunks).toString('utf8'), servedGeneration };
}

/** HTTP status of a client error, if it carries one. */
function httpStatus(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number') return code;
  if (typeof code === 'string' && /^\d{3}$/.test(code)) return Number(code);
  return undefined;
}

/** GCS answers 404 for a missing bucket too; only a missing object means "empty". */
function isObjectNotFound(err: unknown): boolean {
  return httpStatus(err) === 404 && !/bucket does not exist/i.test(toError(err).message);
}

/** One line for logs and for the startup failure; `unavailable` unless the data is at fault. */
function gcsDetail(op: string, bucket: string, path: string, err: unknown): JackError {
  const target = `gs://${bucket}/${path}`;
  const status = httpStatus(err);
  const detail = firstLine(toError(err).message);
  if (status === 404) {
    const what = isObjectNotFound(err) ? 'not found' : `bucket ${bucket} does not exist`;
    return new JackError('unavailable', `cannot ${op} ${target}: ${what}`, { cause: err });
  }
  if (status === 401 || status === 403) {
    return new JackError(
      'unavailable',
      `cannot ${op} ${target}: permission denied (HTTP ${status}); the service account needs roles/storage.objectUser on the bucket: ${detail}`,
      { cause: err },
    );
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new JackError('internal', `cannot ${op} ${target}: HTTP ${status}: ${detail}`, {
      cause: err,
    });
  }
  const why = status === undefined ? detail : `HTTP ${status}: ${detail}`;
  return new JackError('unavailable', `cannot ${op} ${target}: ${why}`, { cause: err });
}

/**
 * What a client sees (SPEC §6: no bucket name, no library text): the code of
 * `gcsDetail` and a message of Jack's own. The detail, which an operator
 * needs, is the cause: it goes to the log line and to the startup failure.
 */
function gcsError(op: string, bucket: string, path: string, err: unknown): JackError {
  const detail = gcsDetail(op, bucket, path, err);
  const message =
    path === ''
      ? 'the config store cannot reach its bucket'
      : `the config store cannot ${op} ${path.slice(path.lastIndexOf('/') + 1)}`;
  return new JackError(detail.code, message, { cause: detail });
}

function firstLine(text: string): string {
  // A failed download carries the raw JSON error body as its message.
  if (text.trimStart().startsWith('{')) {
    try {
      const body = JSON.parse(text) as { error?: { message?: unknown } };
      if (typeof body.error?.message === 'string') text = body.error.message;
    } catch {
      // not JSON after all: keep the text
    }
  }
  const line = text.split('\n', 1)[0]?.trim() ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
