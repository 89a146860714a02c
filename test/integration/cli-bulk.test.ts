/**
 * Issue 15: `jack bulk` against a real Jack. On the Pub/Sub emulator: 2 500
 * lines with 3 invalid → 2 497 delivered exactly once and `--resume`
 * publishes nothing new; Pub/Sub unreachable for a few seconds, or the
 * producer rate-limited (RATE_LIMIT_MODE=enforce) → every job delivered
 * exactly once in the end, its retries under the same job id. On the noop
 * backend: a 100 000-line file streams with flat memory (peak RSS of the
 * CLI process).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../support/cli.js';
import { pubsubEmulatorHost, skipWithoutEmulator } from '../support/emulator.js';
import {
  createPubSubFixture,
  type PubSubFixture,
  type ReceivedMessage,
} from '../support/pubsub-topics.js';
import { type SpawnedJack, startBuiltJack } from '../support/spawn.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

interface Summary {
  lines: number;
  enqueued: number;
  failed: number;
  skipped: number;
  duplicates: number;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jack-cli-bulk-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function jobLine(i: number): string {
  return JSON.stringify({
    producer_id: 'prod_bulk',
    job_type: 'import',
    payload: { i },
    correlation_id: `line-${i}`,
  });
}

async function readResults(
  path: string,
): Promise<{ index: number; job_id?: string; reason?: string; duplicate?: boolean }[]> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

function summaryOf(result: CliResult): Summary {
  return result.json<Summary>();
}

/** The value of a Prometheus counter of a spawned Jack (summed over the matching series). */
async function counter(jack: SpawnedJack, name: string, labels: string): Promise<number> {
  const line = await jack.waitForLog((l) => l.msg === 'metrics on /metrics');
  const text = await (await fetch(`http://127.0.0.1:${Number(line.port)}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/**
 * Pulls until `count` distinct job ids arrived, then whatever else is there.
 * SPEC §9: after an unknown outcome (a publish timeout) a retry publishes
 * again under the SAME job id, so a message may legitimately arrive twice;
 * a second job id for one line never may.
 */
async function pullJobs(pubsub: PubSubFixture, count: number): Promise<ReceivedMessage[]> {
  const messages = await pubsub.pull('medium', count, 60_000);
  const deadline = Date.now() + 30_000;
  while (new Set(messages.map((m) => m.attributes.job_id)).size < count) {
    if (Date.now() > deadline) break;
    messages.push(...(await pubsub.drain('medium')));
  }
  return messages;
}

/** Each line's job ids (by correlation id): exactly one per line is "exactly once". */
function jobIdsByLine(messages: ReceivedMessage[]): Map<string, Set<string>> {
  const byLine = new Map<string, Set<string>>();
  for (const m of messages) {
    const line = m.attributes.correlation_id ?? '';
    byLine.set(line, (byLine.get(line) ?? new Set()).add(m.attributes.job_id ?? ''));
  }
  return byLine;
}

describe.skipIf(skipWithoutEmulator())('jack bulk on the Pub/Sub emulator', () => {
  let pubsub: PubSubFixture | undefined;
  let jack: SpawnedJack | undefined;
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await jack?.kill();
    await proxy?.close();
    await pubsub?.close();
  });

  it('2 500 lines, 3 invalid: 2 497 delivered exactly once; --resume or a rerun publishes nothing new', async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities: ['medium'] });
    jack = await startBuiltJack({ ...pubsub.env(['medium']) });
    const address = (jack as SpawnedJack & { address: string }).address;
    const input = join(dir, 'jobs.jsonl');
    const output = join(dir, 'jobs.results');
    const invalid = new Map([
      [10, '{"producer_id": "prod_bulk", "job_type": '],
      [1200, '{"producer_id": "prod_bulk", "jobtype": "x"}'],
      [2499, '{"job_type": "import", "payload": 1}'],
    ]);
    const lines = Array.from({ length: 2500 }, (_, i) => invalid.get(i) ?? jobLine(i));
    // camelCase names and a binary payload are accepted too.
    lines[5] = JSON.stringify({
      producerId: 'prod_bulk',
      jobType: 'import',
      payloadBase64: Buffer.from([0xff, 0, 1]).toString('base64'),
      correlationId: 'line-5',
    });
    await writeFile(input, `${lines.join('\n')}\n`);

    const run = await runCli(['bulk', input, '--output', output, '--json', '--addr', address], {
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(1);
    expect(summaryOf(run)).toMatchObject({ lines: 2500, enqueued: 2497, failed: 3, skipped: 0 });
    // stderr is not a terminal: no progress bar, only the one-line verdict.
    expect(run.stderr).toBe(`jack: 3 jobs failed (see ${output}) (bulk_failed)\n`);
    const results = await readResults(output);
    expect(results).toHaveLength(2500);
    expect(results.filter((r) => !r.job_id).map((r) => [r.index, r.reason])).toEqual(
      expect.arrayContaining([
        [10, 'invalid_line'],
        [1200, 'invalid_line'],
        [2499, 'validation_error'],
      ]),
    );

    const messages = await pubsub.pull('medium', 2497, 60_000);
    expect(messages).toHaveLength(2497);
    const delivered = messages.map((m) => m.attributes.job_id);
    expect(new Set(delivered).size).toBe(2497);
    expect(new Set(delivered)).toEqual(
      new Set(results.filter((r) => r.job_id).map((r) => r.job_id)),
    );
    const byLine = new Map(messages.map((m) => [m.attributes.correlation_id, m.data.toString()]));
    expect(byLine.get('line-7')).toBe('{"i":7}');
    expect(messages.find((m) => m.attributes.correlation_id === 'line-5')?.data).toEqual(
      Buffer.from([0xff, 0, 1]),
    );

    const resumed = await runCli(
      ['bulk', input, '--output', output, '--resume', '--json', '--addr', address],
      { timeoutMs: 60_000 },
    );
    expect(resumed.code).toBe(1);
    expect(summaryOf(resumed)).toMatchObject({ enqueued: 0, failed: 3, skipped: 2497 });
    expect(await pubsub.drain('medium')).toEqual([]);
    expect(await readResults(output)).toHaveLength(2500);

    // The whole file again into a fresh RESULTS (a retry that lost its results): the same
    // idempotency keys, so Jack answers every job with its first job id, duplicate = true,
    // and publishes nothing.
    const again = join(dir, 'jobs-again.results');
    const rerun = await runCli(['bulk', input, '--output', again, '--json', '--addr', address], {
      timeoutMs: 60_000,
    });
    expect(rerun.code).toBe(1);
    expect(summaryOf(rerun)).toMatchObject({ enqueued: 2497, duplicates: 2497, failed: 3 });
    const firstIds = new Map(results.filter((r) => r.job_id).map((r) => [r.index, r.job_id]));
    const rerunResults = (await readResults(again)).filter((r) => r.job_id);
    expect(rerunResults).toHaveLength(2497);
    expect(rerunResults.filter((r) => r.job_id !== firstIds.get(r.index) || !r.duplicate)).toEqual(
      [],
    );
    expect(await pubsub.drain('medium')).toEqual([]);
  });

  it('enqueue delivers the payload bytes untouched, with --shadow and --run-at as attributes', async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities: ['medium'] });
    jack = await startBuiltJack({ ...pubsub.env(['medium']) });
    const address = (jack as SpawnedJack & { address: string }).address;
    const payloadFile = join(dir, 'payload.bin');
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x0a]);
    await writeFile(payloadFile, bytes);
    const fromFile = await runCli([
      'enqueue',
      'prod_cli',
      'resize',
      '--file',
      payloadFile,
      '--shadow',
      '--run-at',
      '2030-01-02T03:04:05Z',
      '--json',
      '--addr',
      address,
    ]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const fromStdin = await runCli(
      ['enqueue', 'prod_cli', 'resize', '-', '--json', '--addr', address],
      {
        input: 'from stdin',
      },
    );
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    const messages = await pubsub.pull('medium', 2);
    const byId = new Map(messages.map((m) => [m.attributes.job_id, m]));
    const file = byId.get(fromFile.json<{ jobId: string }>().jobId);
    expect(file?.data).toEqual(bytes);
    expect(file?.attributes).toMatchObject({ shadow: 'true', run_at: '2030-01-02T03:04:05.000Z' });
    const stdin = byId.get(fromStdin.json<{ jobId: string }>().jobId);
    expect(stdin?.data.toString()).toBe('from stdin');
    expect(stdin?.attributes.shadow).toBe('false');
  });

  it('Pub/Sub unreachable for a few seconds: every job delivered exactly once in the end', async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities: ['medium'] });
    proxy = await startTcpProxy(pubsub.host);
    jack = await startBuiltJack({
      ...pubsub.env(['medium']),
      PUBSUB_EMULATOR_HOST: proxy.address,
      PUBSUB_PUBLISH_TIMEOUT: '2s',
      METRICS_PORT: '0',
    });
    const address = (jack as SpawnedJack & { address: string }).address;
    const input = join(dir, 'outage.jsonl');
    const output = join(dir, 'outage.results');
    await writeFile(input, Array.from({ length: 300 }, (_, i) => jobLine(i)).join('\n'));

    await proxy.down();
    const running = runCli(
      [
        'bulk',
        input,
        '--output',
        output,
        '--json',
        '--addr',
        address,
        '--batch-size',
        '100',
        '--max-attempts',
        '40',
      ],
      { timeoutMs: 90_000 },
    );
    await sleep(3_000);
    await proxy.up();
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    const summary = run.json<Summary & { retried: number }>();
    expect(summary).toMatchObject({ lines: 300, enqueued: 300, failed: 0 });
    expect(summary.retried).toBeGreaterThan(0);

    // The publishes that timed out had an unknown outcome: Jack kept their job ids, and
    // the CLI's retries (same idempotency keys) published again under those ids.
    expect(await counter(jack, 'jack_idempotency_total', 'outcome="retried"')).toBeGreaterThan(0);

    const messages = await pullJobs(pubsub, 300);
    const byLine = jobIdsByLine(messages);
    expect(byLine.size).toBe(300);
    expect([...byLine.values()].filter((ids) => ids.size !== 1)).toEqual([]);
    const results = await readResults(output);
    expect(results).toHaveLength(300);
    expect(new Set(messages.map((m) => m.attributes.job_id))).toEqual(
      new Set(results.map((r) => r.job_id)),
    );
  }, 120_000);

  it('a rate-limited producer: rate_limited jobs are retried until every job is delivered exactly once', async () => {
    pubsub = await createPubSubFixture(pubsubEmulatorHost(), { priorities: ['medium'] });
    jack = await startBuiltJack({
      ...pubsub.env(['medium']),
      CONFIG_DIR: join(dir, 'rate-limited'),
      RATE_LIMIT_MODE: 'enforce',
      METRICS_PORT: '0',
    });
    const address = (jack as SpawnedJack & { address: string }).address;
    const producer = (
      await runCli(['producers', 'create', '--name', 'bursty', '--json', '--addr', address])
    ).json<{ producerId: string }>().producerId;
    const updated = await runCli([
      'producers',
      'update',
      producer,
      '--rate-limit-rps',
      '200',
      '--json',
      '--addr',
      address,
    ]);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.json()).toMatchObject({ producerId: producer, rateLimitRps: 200 });

    // 600 jobs at 200 jobs/s with a burst of 200: about two seconds of rate_limited answers.
    const count = 600;
    const input = join(dir, 'limited.jsonl');
    const output = join(dir, 'limited.results');
    await writeFile(
      input,
      Array.from({ length: count }, (_, i) =>
        JSON.stringify({ producer_id: producer, job_type: 'import', correlation_id: `line-${i}` }),
      ).join('\n'),
    );
    const run = await runCli(
      [
        'bulk',
        input,
        '--output',
        output,
        '--json',
        '--addr',
        address,
        '--batch-size',
        '100',
        '--max-attempts',
        '40',
      ],
      { timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(0);
    const summary = run.json<Summary & { retried: number }>();
    expect(summary).toMatchObject({ lines: count, enqueued: count, failed: 0, duplicates: 0 });
    expect(summary.retried).toBeGreaterThan(0);
    // What was retried was Jack's rate limit saying "later".
    expect(
      await counter(jack, 'jack_admission_rejected_jobs_total', 'reason="rate_limited"'),
    ).toBeGreaterThan(0);

    const messages = await pullJobs(pubsub, count);
    expect(messages).toHaveLength(count); // nothing was published twice: no unknown outcome here
    const byLine = jobIdsByLine(messages);
    expect(byLine.size).toBe(count);
    expect([...byLine.values()].filter((ids) => ids.size !== 1)).toEqual([]);
    const results = await readResults(output);
    expect(new Set(messages.map((m) => m.attributes.job_id))).toEqual(
      new Set(results.map((r) => r.job_id)),
    );
  }, 60_000);
});

describe('jack bulk memory', () => {
  let jack: SpawnedJack | undefined;
  afterAll(async () => {
    await jack?.kill();
  });

  async function writeJobs(path: string, count: number): Promise<void> {
    const out = createWriteStream(path);
    const filler = 'x'.repeat(400);
    for (let i = 0; i < count; i++) {
      const line = `${JSON.stringify({ producer_id: 'prod_mem', job_type: 'load', payload: { i, filler } })}\n`;
      if (!out.write(line)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  }

  it('a 100 000-line file streams with flat memory (32 MB heap cap, peak RSS measured)', async () => {
    jack = await startBuiltJack({});
    const address = (jack as SpawnedJack & { address: string }).address;
    const runs: { lines: number; peakKiB: number; summary: Summary }[] = [];
    for (const lines of [10_000, 100_000]) {
      const input = join(dir, `mem-${lines}.jsonl`);
      await writeJobs(input, lines);
      const result = await runCli(
        ['bulk', input, '--output', join(dir, `mem-${lines}.results`), '--json', '--addr', address],
        // A heap cap the CLI could not live within if it held the file or its results.
        {
          timeoutMs: 170_000,
          measureMemory: true,
          env: { NODE_OPTIONS: '--max-old-space-size=32' },
        },
      );
      expect(result.code, result.stderr).toBe(0);
      runs.push({ lines, peakKiB: result.peakRssKiB ?? 0, summary: summaryOf(result) });
    }
    const [small, large] = runs;
    console.log(
      `bulk peak RSS: ${small?.peakKiB} KiB for 10k lines, ${large?.peakKiB} KiB for 100k lines; ` +
        `100k: ${JSON.stringify(large?.summary)}`,
    );
    expect(large?.summary).toMatchObject({ lines: 100_000, enqueued: 100_000, failed: 0 });
    // The proof of streaming is the heap cap: the 100k file is ~45 MB, its lines as strings
    // would not fit in 32 MB of old generation, so a CLI that kept them would die of OOM.
    // Peak RSS (Node, grpc-js, V8's young generation, allocator slack) varies with GC timing
    // on a loaded machine by ±30 MB, so it gets an absolute bound only.
    expect(large!.peakKiB).toBeGreaterThan(0);
    expect(large!.peakKiB).toBeLessThan(200 * 1024);
  }, 180_000);
});
