/**
 * A small in-process fake of the Cloud Storage JSON API: just the part the
 * real `@google-cloud/storage` client uses for the config store. Tests point
 * the client at `endpoint` (GCS_ENDPOINT / apiEndpoint); the client is never
 * mocked.
 *
 * Served: bucket get; object metadata get; media download (`alt=media`,
 * optionally pinned with `generation`); media and multipart uploads with
 * `ifGenerationMatch` (0 = must not exist); 404 and 412 with the JSON error
 * bodies GCS sends. Failures can be injected: a status for every request
 * (an outage) or for the next n requests, a lost upload answer, added
 * latency, a missing bucket.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  crc32c,
  type FakeGcsRequestKind,
  md5,
  metadataOf,
  parseMultipart,
  parseRoute,
  readBody,
  type StoredObject,
  sendError,
  sendJson,
} from './fake-gcs-wire.js';

export type { FakeGcsRequestKind };

/** What a request did, for assertions such as "no download happened". */

export interface FakeGcsRequest {
  kind: FakeGcsRequestKind;
  method: string;
  bucket: string | undefined;
  object: string | undefined;
  status: number;
}

export interface FakeGcs {
  /** `http://127.0.0.1:PORT`: the client's apiEndpoint / GCS_ENDPOINT. */
  readonly endpoint: string;
  /** Every request served so far, in order. */
  readonly requests: FakeGcsRequest[];
  createBucket(name: string): void;
  deleteBucket(name: string): void;
  /** Writes an object directly (another implementation, a human with gcloud). */
  putObject(bucket: string, name: string, text: string): number;
  getObject(bucket: string, name: string): { generation: number; text: string } | undefined;
  /** Answer every request with this status until `heal()` (an outage). */
  failAll(status?: number): void;
  /** Answer the next `count` requests with this status. */
  failNext(count: number, status?: number): void;
  /** Stop injecting failures. */
  heal(): void;
  /**
   * The next successful upload is stored, but answered 503 as if the
   * response had been lost on the way back.
   */
  loseNextUploadAnswer(): void;
  /** Delay every answer by this many ms (0 = none). */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

export async function startFakeGcs(): Promise<FakeGcs> {
  const buckets = new Map<string, Map<string, StoredObject>>();
  const requests: FakeGcsRequest[] = [];
  let nextGeneration = 1_700_000_000_000_001;
  let outageStatus: number | undefined;
  let failures: { count: number; status: number } | undefined;
  let latencyMs = 0;
  let loseUploadAnswer = false;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    const route = parseRoute(req.method ?? 'GET', url);
    const record = (status: number) =>
      requests.push({
        kind: route.kind,
        method: req.method ?? '',
        bucket: route.bucket,
        object: route.object,
        status,
      });
    if (latencyMs > 0) await sleep(latencyMs);

    const injected =
      outageStatus ?? (failures !== undefined && failures.count > 0 ? failures.status : undefined);
    if (injected !== undefined) {
      if (outageStatus === undefined && failures !== undefined) failures.count -= 1;
      record(injected);
      return sendError(res, injected, 'backendError', 'injected failure');
    }

    const objects = route.bucket === undefined ? undefined : buckets.get(route.bucket);
    if (route.kind === 'other') {
      record(400);
      return sendError(
        res,
        400,
        'invalid',
        `fake GCS does not serve ${req.method} ${url.pathname}`,
      );
    }
    if (objects === undefined) {
      record(404);
      return sendError(res, 404, 'notFound', 'The specified bucket does not exist.');
    }
    const bucket = route.bucket as string;

    if (route.kind === 'bucket') {
      record(200);
      return sendJson(res, 200, {
        kind: 'storage#bucket',
        id: bucket,
        name: bucket,
        location: 'US',
        storageClass: 'STANDARD',
        metageneration: '1',
      });
    }

    if (route.kind === 'metadata' || route.kind === 'download') {
      const name = route.object as string;
      const object = objects.get(name);
      const wanted = url.searchParams.get('generation');
      if (object === undefined || (wanted !== null && wanted !== String(object.generation))) {
        record(404);
        return sendError(res, 404, 'notFound', `No such object: ${bucket}/${name}`);
      }
      record(200);
      if (route.kind === 'metadata') return sendJson(res, 200, metadataOf(bucket, name, object));
      res.writeHead(200, {
        'content-type': object.contentType,
        'content-length': object.data.length,
        'x-goog-generation': String(object.generation),
        'x-goog-stored-content-encoding': 'identity',
        'x-goog-hash': `crc32c=${crc32c(object.data)},md5=${md5(object.data)}`,
      });
      return res.end(object.data);
    }

    // upload
    const name = url.searchParams.get('name') ?? undefined;
    const uploadType = url.searchParams.get('uploadType');
    let data: Buffer;
    let metadata: Record<string, unknown> = {};
    if (uploadType === 'media') {
      data = body;
    } else if (uploadType === 'multipart') {
      const parts = parseMultipart(req.headers['content-type'] ?? '', body);
      if (parts === undefined || parts.length !== 2) {
        record(400);
        return sendError(res, 400, 'invalid', 'malformed multipart body');
      }
      metadata = JSON.parse(parts[0]?.toString('utf8') ?? '{}') as Record<string, unknown>;
      data = parts[1] as Buffer;
    } else {
      record(400);
      return sendError(res, 400, 'invalid', `uploadType ${uploadType} is not served by the fake`);
    }
    const objectName = name ?? (typeof metadata.name === 'string' ? metadata.name : undefined);
    if (objectName === undefined) {
      record(400);
      return sendError(res, 400, 'required', 'Required parameter: name');
    }
    route.object = objectName;
    if (typeof metadata.md5Hash === 'string' && metadata.md5Hash !== md5(data)) {
      record(400);
      return sendError(res, 400, 'invalid', 'Provided MD5 hash does not match calculated MD5 hash');
    }
    const current = objects.get(objectName);
    const condition = url.searchParams.get('ifGenerationMatch');
    if (condition !== null && condition !== String(current?.generation ?? 0)) {
      record(412);
      return sendError(
        res,
        412,
        'conditionNotMet',
        'At least one of the pre-conditions you specified did not hold.',
      );
    }
    const stored: StoredObject = {
      generation: nextGeneration++,
      data,
      contentType:
        typeof metadata.contentType === 'string'
          ? metadata.contentType
          : (req.headers['content-type'] ?? 'application/octet-stream'),
      updated: new Date(),
    };
    objects.set(objectName, stored);
    if (loseUploadAnswer) {
      loseUploadAnswer = false;
      record(503);
      return sendError(res, 503, 'backendError', 'injected failure after the write was stored');
    }
    record(200);
    return sendJson(res, 200, metadataOf(bucket, objectName, stored));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'backendError', String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    createBucket(name) {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    deleteBucket(name) {
      buckets.delete(name);
    },
    putObject(bucket, name, text) {
      const objects = buckets.get(bucket);
      if (objects === undefined) throw new Error(`fake GCS: no bucket ${bucket}`);
      const generation = nextGeneration++;
      objects.set(name, {
        generation,
        data: Buffer.from(text, 'utf8'),
        contentType: 'application/json',
        updated: new Date(),
      });
      return generation;
    },
    getObject(bucket, name) {
      const object = buckets.get(bucket)?.get(name);
      if (object === undefined) return undefined;
      return { generation: object.generation, text: object.data.toString('utf8') };
    },
    failAll(status = 503) {
      outageStatus = status;
    },
    failNext(count, status = 503) {
      failures = { count, status };
    },
    heal() {
      outageStatus = undefined;
      failures = undefined;
    },
    loseNextUploadAnswer() {
      loseUploadAnswer = true;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
}
