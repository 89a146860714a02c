/** `jack enqueue P T [PAYLOAD | --file F | -]` and `jack cancel P JOB_ID`. */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_WAIT_MS } from '../../client/index.js';
import { parseDurationMs } from '../../config/parser.js';
import { EnqueueResponse } from '../../gen/jack/jack.js';
import { Job } from '../../gen/jack/jobs.js';
import { CliError, print, record, rfc3339, usageError, withClient } from '../context.js';
import { failUnlessSucceeded, jobRecord } from './jobs.js';

/** Above the largest payload Jack can accept (SPEC §5: at most 10 MB). */
export const MAX_PAYLOAD_INPUT_BYTES = 16 * 1024 * 1024;

/** Reads a whole stream, refusing more than MAX_PAYLOAD_INPUT_BYTES. */
export async function readCapped(stream: Readable, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > MAX_PAYLOAD_INPUT_BYTES) {
        stream.destroy();
        throw new CliError(
          `${what} is larger than ${MAX_PAYLOAD_INPUT_BYTES} bytes`,
          'invalid_argument',
        );
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot read ${what}: ${(err as Error).message}`, 'io');
  }
  return Buffer.concat(chunks);
}

interface EnqueueOptions {
  file?: string;
  runAt?: Date;
  idempotencyKey?: string;
  correlationId?: string;
  traceId?: string;
  shadow?: boolean;
  wait?: boolean;
  waitTimeout: number;
}

function positiveDuration(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) throw new InvalidArgumentError('not a duration (e.g. 30s, 10m)');
  return ms;
}

export function enqueueCommand(): Command {
  return new Command('enqueue')
    .description('enqueue one job; prints its id')
    .argument('<producer>', 'producer id')
    .argument('<job-type>', 'job type name')
    .argument('[payload]', "payload text; '-' reads it from stdin (default: empty)")
    .option('--file <file>', 'read the payload (any bytes) from a file')
    .option('--run-at <time>', 'RFC 3339 time to run the job at (default: now)', rfc3339)
    .option('--idempotency-key <key>', 'key that makes a repeated enqueue return the same job')
    .option('--correlation-id <id>', 'echoed back and carried as a message attribute')
    .option('--trace-id <id>', 'carried as the trace_id attribute')
    .option('--shadow', 'mark the job as shadow traffic')
    .option(
      '--wait',
      'wait for the job to end (job ledger); prints its record, exit 0 only if it succeeded',
    )
    .option(
      '--wait-timeout <duration>',
      'give up waiting after this long',
      positiveDuration,
      DEFAULT_WAIT_MS,
    )
    .addHelpText(
      'after',
      '\nWithout --idempotency-key the client generates one, so its own retries never publish twice.',
    )
    .action(
      async (
        producer: string,
        jobType: string,
        payloadArg: string | undefined,
        opts: EnqueueOptions,
        cmd: Command,
      ) => {
        if (payloadArg !== undefined && opts.file !== undefined) {
          throw usageError('give the payload either as an argument or with --file, not both');
        }
        let payload: Buffer = Buffer.alloc(0);
        if (opts.file !== undefined) {
          payload = await readCapped(createReadStream(opts.file), `payload file ${opts.file}`);
        } else if (payloadArg === '-') {
          payload = await readCapped(process.stdin, 'stdin');
        } else if (payloadArg !== undefined) {
          payload = Buffer.from(payloadArg, 'utf8');
        }
        const request = {
          producerId: producer,
          jobType,
          payload,
          runAt: opts.runAt,
          idempotencyKey: opts.idempotencyKey,
          correlationId: opts.correlationId,
          traceId: opts.traceId,
        };
        if (opts.wait) {
          await withClient(cmd, async (client, options) => {
            const job = await client.enqueueAndWait(request, {
              shadow: opts.shadow,
              waitMs: opts.waitTimeout,
            });
            print(options, Job.toJSON(job), () => jobRecord(job));
            failUnlessSucceeded(job, job.jobId);
          });
          return;
        }
        await withClient(cmd, async (client, options) => {
          const res = await client.enqueue(request, { shadow: opts.shadow });
          print(options, EnqueueResponse.toJSON(res), () => {
            const rows: [string, string][] = [['job_id', res.jobId]];
            if (res.duplicate) rows.push(['duplicate', 'true (an earlier call enqueued it)']);
            if (res.correlationId) rows.push(['correlation_id', res.correlationId]);
            for (const warning of res.errorMessages) rows.push(['warning', warning]);
            return record(rows);
          });
        });
      },
    );
}

export function cancelCommand(): Command {
  return new Command('cancel')
    .description('cancel a scheduled job that has not fired yet')
    .argument('<producer>', 'producer id')
    .argument('<job-id>', 'job id (pjob_…)')
    .action(async (producer: string, jobId: string, _opts: unknown, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        await client.cancelJob({ producerId: producer, jobId });
        print(
          options,
          { producerId: producer, jobId, cancelled: true },
          () => `cancelled ${jobId}`,
        );
      }),
    );
}
