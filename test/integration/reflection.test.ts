import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { type Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type RunningJack, startJack } from '../support/jack.js';
import { protocPath } from '../support/protoc.js';
import {
  clientFromDescriptors,
  createReflectionClient,
  fileDescriptorSet,
  type ReflectionVersion,
} from '../support/reflection-client.js';

/** As the descriptors name the fields: the .proto names. */
interface ListedProducer {
  producer_id: string;
  name: string;
  description: string;
  rate_limit_rps: number;
  created_at: { seconds: string; nanos: number } | null;
}

/** Calls a unary method of a dynamic (proto-loader) client. */
function dynamicUnary<Res>(client: Client, method: string, request: object): Promise<Res> {
  const fn = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[method];
  if (fn === undefined) throw new Error(`the dynamic client has no method ${method}`);
  return new Promise((resolve, reject) => {
    fn.call(
      client,
      request,
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err: ServiceError | null, response: Res) => (err ? reject(err) : resolve(response)),
    );
  });
}

describe('server reflection', () => {
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack();
  });
  afterAll(async () => {
    await jack.close();
  });

  describe.each<ReflectionVersion>(['v1', 'v1alpha'])('grpc.reflection.%s', (version) => {
    it('lists the three jack services and health', async () => {
      const reflection = createReflectionClient(jack.address, version);
      try {
        const services = await reflection.listServices();
        expect(services).toEqual(
          expect.arrayContaining([
            'jack.BackgroundJobs',
            'jack.AdminService',
            'jack.Jobs',
            'grpc.health.v1.Health',
          ]),
        );
      } finally {
        reflection.close();
      }
    });

    it('returns descriptors from which a client can call AdminService/ListProducers', async () => {
      const created = await call(jack.admin, 'createProducer', {
        name: `reflected-${version}`,
        description: 'found through reflection',
      });
      const producerId = created.producer?.producerId;
      expect(producerId).toMatch(/^prod_[0-9a-f]{8}$/);

      const reflection = createReflectionClient(jack.address, version);
      let files: Buffer[];
      try {
        files = await reflection.fileContainingSymbol('jack.AdminService');
      } finally {
        reflection.close();
      }
      // The Timestamp fields need google.protobuf: its file must come along.
      expect(files.length).toBeGreaterThanOrEqual(2);

      const AdminService = clientFromDescriptors(files, 'jack.AdminService');
      const admin = new AdminService(jack.address, credentials.createInsecure());
      try {
        const listed = await dynamicUnary<{ producers: ListedProducer[] }>(
          admin,
          'ListProducers',
          {},
        );
        const mine = listed.producers.find((p) => p.producer_id === producerId);
        expect(mine).toMatchObject({
          producer_id: producerId,
          name: `reflected-${version}`,
          description: 'found through reflection',
          rate_limit_rps: 1000,
        });
        expect(Number(mine?.created_at?.seconds)).toBeGreaterThan(0);
      } finally {
        admin.close();
      }
    });
  });
});

const PROTOC = protocPath();

describe.skipIf(PROTOC === '')('reflection as protoc sees it (Debian protoc)', () => {
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack();
  });
  afterAll(async () => {
    await jack.close();
  });

  it('serves a FileDescriptorSet that protoc accepts without an error', async () => {
    const reflection = createReflectionClient(jack.address, 'v1');
    const files: Buffer[] = [];
    try {
      for (const symbol of [
        'jack.BackgroundJobs',
        'jack.AdminService',
        'jack.Jobs',
        'grpc.health.v1.Health',
      ]) {
        files.push(...(await reflection.fileContainingSymbol(symbol)));
      }
    } finally {
      reflection.close();
    }
    const set = fileDescriptorSet(files);
    const names = [...new Set(files.map((f) => loadFileDescriptorSetNames(f))).values()].filter(
      (n) => n !== '',
    );
    // proto-loader names one file per package: jack, google.protobuf, health.
    expect(names.length).toBeGreaterThanOrEqual(3);
    const dir = await mkdtemp(join(tmpdir(), 'jack-protoc-'));
    try {
      const setFile = join(dir, 'reflected.binpb');
      await writeFile(setFile, set);
      // protoc validates every file it is asked for against its C++ rules
      // (type references resolve, map entries, imports declared).
      const result = await promisify(execFile)(
        PROTOC,
        [`--descriptor_set_in=${setFile}`, '--descriptor_set_out=/dev/null', ...names],
        { encoding: 'utf8', timeout: 20_000 },
      ).catch((err: { stderr?: string; message: string }) => ({
        stdout: '',
        stderr: err.stderr || err.message,
      }));
      expect(result.stderr).toBe('');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** The `name` (field 1) of one serialized FileDescriptorProto. */
function loadFileDescriptorSetNames(file: Buffer): string {
  // Field 1, wire type 2: tag 0x0a, then a varint length (names are short).
  if (file[0] !== 0x0a) return '';
  let length = 0;
  let shift = 0;
  let i = 1;
  for (;;) {
    const byte = file[i++] ?? 0;
    length |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7;
  }
  return file.subarray(i, i + length).toString('utf8');
}

/**
 * `buf curl` of the @bufbuild/buf dev dependency: a reflection client that
 * checks descriptors by protoc's rules, as grpcurl does. Async: the server
 * runs in this process and must keep answering.
 */
async function bufCurl(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const bufScript = join(
    dirname(createRequire(import.meta.url).resolve('@bufbuild/buf/package.json')),
    'bin',
    'buf',
  );
  return promisify(execFile)(
    process.execPath,
    [bufScript, 'curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args],
    { encoding: 'utf8', timeout: 20_000 },
  );
}

describe('reflection as a protoc-based tool sees it (buf curl)', () => {
  let jack: RunningJack;
  beforeAll(async () => {
    jack = await startJack();
  });
  afterAll(async () => {
    await jack.close();
  });

  it('describes every method and calls CreateProducer, Enqueue and health with snake_case JSON', async () => {
    const url = `http://${jack.address}`;
    const methods = await bufCurl(['--list-methods', url]);
    expect(methods.stderr).toBe('');
    expect(methods.stdout.trim().split('\n')).toEqual(
      expect.arrayContaining([
        'jack.AdminService/CreateProducer',
        'jack.AdminService/ListProducers',
        'jack.BackgroundJobs/Enqueue',
        'jack.BackgroundJobs/EnqueueBulk',
        'grpc.health.v1.Health/Check',
        'grpc.health.v1.Health/Watch',
      ]),
    );

    const created = await bufCurl([
      '-d',
      '{"name":"via-buf"}',
      `${url}/jack.AdminService/CreateProducer`,
    ]);
    expect(created.stderr).toBe('');
    const producer = (JSON.parse(created.stdout) as { producer: { producerId: string } }).producer;
    expect(producer.producerId).toMatch(/^prod_[0-9a-f]{8}$/);

    const enqueued = await bufCurl([
      '-d',
      JSON.stringify({
        producer_id: producer.producerId,
        job_type: 'send_email',
        payload: Buffer.from('{"to":"a@example.com"}').toString('base64'),
        run_at: '2030-01-01T00:00:00Z',
      }),
      `${url}/jack.BackgroundJobs/Enqueue`,
    ]);
    expect(enqueued.stderr).toBe('');
    expect(JSON.parse(enqueued.stdout)).toMatchObject({
      jobId: expect.stringMatching(/^pjob_/),
      errorMessages: [`unregistered job_type: send_email (producer: ${producer.producerId})`],
    });

    const health = await bufCurl([
      '-d',
      '{"service":"jack.BackgroundJobs"}',
      `${url}/grpc.health.v1.Health/Check`,
    ]);
    expect(health.stderr).toBe('');
    expect(JSON.parse(health.stdout)).toEqual({ status: 'SERVING' });
  });
});
