/** `jack bulk FILE|- --output RESULTS [--resume]` (SPEC §13). */
import { createReadStream } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { Presets, SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { DEFAULT_RETRY } from '../../client/retry.js';
import { fileSize, type LineSet, loadDone, ResultWriter } from '../bulk/results.js';
import { MAX_BULK_JOBS, runBulk } from '../bulk/runner.js';
import { CliError, globals, positiveInteger, usageError, withClient } from '../context.js';

/** Counts the lines of a file (streaming) for the progress bar's total and ETA. */
async function countLines(path: string): Promise<number> {
  let count = 0;
  let last = 10;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) count++;
    last = chunk[chunk.length - 1] ?? last;
  }
  return last === 10 ? count : count + 1;
}

const MAX_CONCURRENCY = 64;
const MAX_ATTEMPTS = 100;

interface BulkCommandOptions {
  output: string;
  resume?: boolean;
  batchSize: number;
  concurrency: number;
  maxAttempts: number;
  shadow?: boolean;
}

const HELP = `
Input: one JSON object per line:
  {"producer_id": "...", "job_type": "...", "payload": <any JSON value, sent as its JSON text>,
   "payload_base64": "<bytes, instead of payload>", "run_at": "<RFC 3339>",
   "idempotency_key": "...", "correlation_id": "...", "trace_id": "..."}
  (camelCase names accepted; blank lines are ignored).

RESULTS gets one JSON line per input line: {"index": <0-based line>, "job_id": "..."} or
{"index": ..., "reason": "...", "error": "..."}. Every job carries an idempotency key (its own,
or one derived from the input file's path, the line number and the line), so a retried or
resumed job is never published twice. --resume keeps the lines of RESULTS that have a job id
and sends only the others. Exit 1 when any job failed. A call refused as unauthenticated,
permission_denied or unimplemented stops the run with that error (--resume continues it).`;

export function bulkCommand(): Command {
  return new Command('bulk')
    .description('enqueue every job of a JSON-lines file (or stdin), streaming')
    .argument('<file>', "JSON-lines file, or '-' for stdin")
    .requiredOption('--output <results>', 'file that receives one result line per input line')
    .option('--resume', 'skip the lines RESULTS already holds a job id for')
    .option('--batch-size <n>', 'jobs per EnqueueBulk call (at most 1000)', positiveInteger, 1000)
    .option('--concurrency <n>', 'EnqueueBulk calls in flight', positiveInteger, 4)
    .option('--max-attempts <n>', 'attempts per job for passing failures', positiveInteger, 10)
    .option('--shadow', 'mark every job as shadow traffic')
    .addHelpText('after', HELP)
    .action(async (file: string, opts: BulkCommandOptions, cmd: Command) => {
      if (opts.concurrency > MAX_CONCURRENCY) {
        // Memory is bounded by concurrency × batch size: keep that bound small.
        throw usageError(`--concurrency is at most ${MAX_CONCURRENCY}`);
      }
      if (opts.maxAttempts > MAX_ATTEMPTS)
        throw usageError(`--max-attempts is at most ${MAX_ATTEMPTS}`);
      if (opts.batchSize > MAX_BULK_JOBS) {
        throw usageError(`--batch-size is at most ${MAX_BULK_JOBS} (the server's MAX_BULK_JOBS)`);
      }
      const existing = await fileSize(opts.output);
      if (!opts.resume && existing !== undefined && existing > 0) {
        throw usageError(`${opts.output} already has results: add --resume, or remove it`);
      }
      let identity: string;
      let input: Readable;
      let total: number | undefined;
      try {
        identity = file === '-' ? `stdin:${resolve(opts.output)}` : await realpath(file);
        input = file === '-' ? process.stdin : createReadStream(file);
      } catch {
        throw new CliError(`cannot read ${file}`, 'io');
      }
      const done: LineSet | undefined = opts.resume ? await loadDone(opts.output) : undefined;
      const options = globals(cmd);
      const bar = process.stderr.isTTY
        ? new SingleBar(
            {
              stream: process.stderr,
              format:
                file === '-'
                  ? 'bulk {value} jobs | {rate} jobs/s'
                  : 'bulk [{bar}] {value}/{total} jobs | {rate} jobs/s | ETA {eta_formatted}',
              etaBuffer: 50,
            },
            Presets.shades_classic,
          )
        : undefined;
      if (bar !== undefined && file !== '-') total = await countLines(file);
      bar?.start(total ?? 0, 0, { rate: '0' });
      const writer = new ResultWriter(opts.output, opts.resume === true);
      const startedAt = Date.now();
      const summary = await withClient(cmd, (client) =>
        runBulk({
          client,
          input,
          identity,
          writer,
          done,
          batchSize: opts.batchSize,
          concurrency: opts.concurrency,
          retry: { ...DEFAULT_RETRY, maxAttempts: opts.maxAttempts, initialBackoffMs: 200 },
          callDeadlineMs: 30_000,
          shadow: opts.shadow,
          onProgress: (n) => {
            const seconds = (Date.now() - startedAt) / 1000;
            bar?.update(n, { rate: seconds > 0 ? Math.round(n / seconds).toString() : '0' });
          },
        }),
      ).finally(async () => {
        bar?.stop();
        // Also when the run stopped: the results so far are what --resume builds on.
        await writer.close();
      });
      const rate = summary.elapsedMs > 0 ? (summary.enqueued * 1000) / summary.elapsedMs : 0;
      const doc = { ...summary, jobsPerSecond: Math.round(rate), output: opts.output };
      if (options.json) process.stdout.write(`${JSON.stringify(doc)}\n`);
      else {
        process.stdout.write(
          `${summary.enqueued} enqueued (${summary.duplicates} already were), ${summary.failed} failed, ` +
            `${summary.skipped} skipped (resume) of ${summary.lines} lines in ` +
            `${(summary.elapsedMs / 1000).toFixed(1)}s (${Math.round(rate)} jobs/s); results in ${opts.output}\n`,
        );
      }
      if (summary.failed > 0) {
        throw new CliError(`${summary.failed} jobs failed (see ${opts.output})`, 'bulk_failed');
      }
    });
}
