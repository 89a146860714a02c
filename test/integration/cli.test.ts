/**
 * Issue 15: the `jack` command against a real Jack (dist/main.js spawned,
 * real socket), for every command whose server side exists today: health,
 * producers create/get/list, job-types create/list, enqueue, cancel, and
 * the offline decode-id. Output is checked through --json, exit codes and
 * the one-line error format. (Commands whose RPCs other issues are still
 * building run against test/support/fake-jack.ts in cli-admin.test.ts.)
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJobId, hashPrefix } from '../../src/jobid/job-id.js';
import { BUILT_CLI, ok, runCli } from '../support/cli.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';
import { selfSignedCertificate } from '../support/tls.js';

let jack: SpawnedJack & { address: string };
let dir: string;
const jackCli = (args: string[], input?: string) =>
  runCli(args, { env: { JACK_ADDR: jack.address }, input });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jack-cli-'));
  jack = await startBuiltJack({ CONFIG_DIR: dir });
});
afterAll(async () => {
  await jack?.kill();
  await rm(dir, { recursive: true, force: true });
});

describe('jack against a running Jack', () => {
  it('health: the server and its services SERVING, as a table and as JSON', async () => {
    const table = ok(await jackCli(['health']));
    expect(table.stdout).toMatch(/^SERVICE\s+STATUS\n\(server\)\s+SERVING\n/);
    const json = ok(await jackCli(['health', '--json'])).json();
    expect(json).toEqual({
      serving: true,
      services: [
        { service: '', status: 'SERVING' },
        { service: 'jack.BackgroundJobs', status: 'SERVING' },
        { service: 'jack.AdminService', status: 'SERVING' },
        { service: 'jack.Jobs', status: 'SERVING' },
      ],
    });
  });

  it('producers and job types: create, get, list; global flags anywhere', async () => {
    const created = ok(
      await jackCli([
        'producers',
        'create',
        '--name',
        'billing',
        '--description',
        'Bills',
        '--json',
      ]),
    ).json<{ producerId: string; name: string; rateLimitRps: number }>();
    expect(created).toMatchObject({ name: 'billing', rateLimitRps: 1000 });
    expect(created.producerId).toMatch(/^prod_[0-9a-f]{8}$/);
    const id = created.producerId;

    const got = ok(await runCli(['--json', '--addr', jack.address, 'producers', 'get', id])).json();
    expect(got).toMatchObject({ producerId: id, name: 'billing', description: 'Bills' });
    const list = ok(await jackCli(['producers', 'list', '--json'])).json<{
      producers: { producerId: string }[];
    }>();
    expect(list.producers.map((p) => p.producerId)).toContain(id);
    expect(ok(await jackCli(['producers', 'list'])).stdout).toMatch(
      new RegExp(
        `^PRODUCER_ID\\s+NAME\\s+RATE_LIMIT_RPS\\s+CREATED_AT\\s+DESCRIPTION\\n(.*\\n)*${id}\\s+billing\\s+1000\\s`,
      ),
    );

    const jobType = ok(
      await jackCli([
        'job-types',
        'create',
        '--producer',
        id,
        '--name',
        'send_invoice',
        '--queue',
        'high',
        '--max-retries',
        '5',
        '--json',
      ]),
    ).json();
    expect(jobType).toMatchObject({
      producerId: id,
      name: 'send_invoice',
      queue: 'QUEUE_HIGH',
      maxRetries: 5,
    });
    const types = ok(await jackCli(['job-types', 'list', '--json', '--producer', id])).json();
    expect(types).toMatchObject({ jobTypes: [{ name: 'send_invoice', queue: 'QUEUE_HIGH' }] });
    expect(ok(await jackCli(['job-types', 'list', '--producer', id])).stdout).toMatch(
      /^NAME\s+QUEUE\s+MAX_RETRIES\s+CREATED_AT\s+DESCRIPTION\nsend_invoice\s+high\s+5\s/,
    );

    const duplicate = await jackCli([
      'job-types',
      'create',
      '--producer',
      id,
      '--name',
      'send_invoice',
    ]);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/^jack: .+ \(already_exists\)\n$/);
  });

  it('a failed call is one line `jack: <what> (<code>)` and exit 1', async () => {
    const missing = await jackCli(['producers', 'get', 'prod_00000000']);
    expect([missing.code, missing.stdout, missing.stderr]).toEqual([
      1,
      '',
      'jack: producer not found: prod_00000000 (not_found)\n',
    ]);
    const unreachable = await runCli(['health', '--addr', '127.0.0.1:1']);
    expect([unreachable.code, unreachable.stderr]).toEqual([
      1,
      'jack: cannot reach Jack at 127.0.0.1:1: ECONNREFUSED (unavailable)\n',
    ]);
  });

  it('usage errors exit 2 with one line', async () => {
    for (const args of [
      ['nope'],
      ['producers', 'get'],
      ['producers', 'create'],
      ['job-types', 'create', '--producer', 'p', '--name', 'n', '--queue', 'urgent'],
      ['enqueue', 'p', 't', '--run-at', 'tomorrow'],
      ['enqueue', 'p', 't', 'x', '--file', '/dev/null'],
      ['producers', 'list', '--bogus'],
    ]) {
      const result = await jackCli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^jack: [^\n]+ \(usage\)\n$/);
    }
    const help = await jackCli(['bulk', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--resume');
  });

  it('enqueue: payload argument, stdin and file; the id decodes offline to its producer and type', async () => {
    const payloadFile = join(dir, 'payload.bin');
    await writeFile(payloadFile, Buffer.from([0, 1, 2, 255]));
    const before = Date.now();
    const runs = [
      await jackCli([
        'enqueue',
        'prod_cli',
        'send_email',
        '{"to":"a@b.c"}',
        '--json',
        '--correlation-id',
        'c-1',
      ]),
      await jackCli(['enqueue', 'prod_cli', 'send_email', '-', '--json'], '{"from":"stdin"}'),
      await jackCli([
        'enqueue',
        'prod_cli',
        'send_email',
        '--file',
        payloadFile,
        '--json',
        '--shadow',
      ]),
      await jackCli([
        'enqueue',
        'prod_cli',
        'send_email',
        '{}',
        '--json',
        '--run-at',
        '2030-01-01T00:00:00Z',
        '--idempotency-key',
        'k-1',
      ]),
    ];
    const docs = runs.map((r) =>
      ok(r).json<{ jobId: string; errorMessages?: string[]; correlationId?: string }>(),
    );
    expect(docs[0]?.correlationId).toBe('c-1');
    expect(docs[0]?.errorMessages).toEqual([
      'unregistered producer_id: prod_cli',
      'unregistered job_type: send_email (producer: prod_cli)',
    ]);
    for (const doc of docs) {
      const decoded = decodeJobId(doc.jobId);
      expect(decoded.producerHash).toEqual(hashPrefix('prod_cli'));
      expect(decoded.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
    }

    const id = docs[0]!.jobId;
    const decoded = ok(
      await runCli([
        'decode-id',
        id,
        '--producer',
        'prod_cli',
        '--job-type',
        'send_email',
        '--json',
      ]),
    ).json();
    expect(decoded).toMatchObject({
      jobId: id,
      version: 1,
      checksum: 'ok',
      producerMatches: true,
      jobTypeMatches: true,
    });
    const table = ok(await runCli(['decode-id', id])).stdout;
    expect(table).toMatch(/^FIELD\s+VALUE\njob_id\s+pjob_/);
    const mismatch = await runCli(['decode-id', id, '--producer', 'prod_other', '--json']);
    expect(mismatch.code).toBe(1);
    expect(mismatch.json()).toMatchObject({ producerMatches: false });
    // Another last character (an id that already ends in x would stay valid: a flake).
    const broken = await runCli(['decode-id', `${id.slice(0, -1)}${id.endsWith('x') ? 'y' : 'x'}`]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^jack: invalid job_id .+ \(invalid_argument\)\n$/);
  });

  it('cancel: reaches CancelJob (no scheduler here → failed_precondition)', async () => {
    const enqueued = ok(await jackCli(['enqueue', 'prod_cli', 't', '--json'])).json<{
      jobId: string;
    }>();
    const result = await jackCli(['cancel', 'prod_cli', enqueued.jobId]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^jack: .+ \(failed_precondition\)\n$/);
    const wrong = await jackCli(['cancel', 'prod_other', enqueued.jobId]);
    expect(wrong.stderr).toMatch(/\((invalid_argument|failed_precondition)\)\n$/);
  });
});

describe('the package', () => {
  it("exports the typed client as 'jack/client' with its types", async () => {
    const root = join(BUILT_CLI, '..', '..', '..');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const m = await import('jack/client'); console.log(typeof m.createJackClient, typeof m.JackClientError)",
      ],
      { cwd: root },
    );
    expect(stdout).toBe('function function\n');
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
    expect(manifest.bin).toEqual({ jack: 'dist/cli/main.js' });
    expect(existsSync(join(root, manifest.exports['./client'].types))).toBe(true);
    expect((await readFile(BUILT_CLI, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
  });
});

describe('jack over TLS', () => {
  it('--ca trusts a self-signed Jack; without it the handshake fails', async () => {
    const tlsDir = await mkdtemp(join(tmpdir(), 'jack-cli-tls-'));
    const files = await selfSignedCertificate(tlsDir, 'localhost', ['127.0.0.1']);
    const tlsJack = await startBuiltJack({ TLS_CERT_FILE: files.cert, TLS_KEY_FILE: files.key });
    try {
      const trusted = await runCli([
        'health',
        '--json',
        '--addr',
        tlsJack.address,
        '--ca',
        files.cert,
      ]);
      expect([trusted.code, trusted.stderr]).toEqual([0, '']);
      expect(trusted.json()).toMatchObject({ serving: true });
      const untrusted = await runCli(['health', '--addr', tlsJack.address, '--tls']);
      expect([untrusted.code, untrusted.stderr]).toEqual([
        1,
        `jack: cannot reach Jack at ${tlsJack.address}: self-signed certificate (unavailable)\n`,
      ]);
      const plaintext = await runCli(['health', '--addr', tlsJack.address]);
      expect([plaintext.code, plaintext.stderr]).toEqual([
        1,
        `jack: cannot reach Jack at ${tlsJack.address} (unavailable)\n`,
      ]);
    } finally {
      await tlsJack.kill();
      await rm(tlsDir, { recursive: true, force: true });
    }
  });
});
