/** `jack job-types …`: create, get, list, update, delete (AdminService). */
import { Command, InvalidArgumentError } from 'commander';
import { JobType, Queue } from '../../gen/jack/storage.js';
import {
  everyPage,
  type GlobalOptions,
  integer,
  print,
  record,
  table,
  timestamp,
  usageError,
  withClient,
} from '../context.js';

const QUEUES: Record<string, Queue> = {
  immediate: Queue.QUEUE_IMMEDIATE,
  high: Queue.QUEUE_HIGH,
  medium: Queue.QUEUE_MEDIUM,
  low: Queue.QUEUE_LOW,
};

function parseQueue(value: string): Queue {
  const queue = QUEUES[value.toLowerCase()];
  if (queue === undefined) throw new InvalidArgumentError('one of immediate, high, medium, low');
  return queue;
}

/** `QUEUE_HIGH` → `high`; unspecified is routed as medium (SPEC §1). */
export function queueName(queue: Queue): string {
  const name = Object.entries(QUEUES).find(([, q]) => q === queue)?.[0];
  return name ?? (queue === Queue.QUEUE_UNSPECIFIED ? 'unspecified' : String(queue));
}

function showJobType(options: GlobalOptions, jobType: JobType | undefined): void {
  const t = jobType ?? JobType.decode(Buffer.alloc(0));
  print(options, JobType.toJSON(t), () =>
    record([
      ['producer_id', t.producerId],
      ['name', t.name],
      ['queue', queueName(t.queue)],
      ['max_retries', String(t.maxRetries)],
      ['description', t.description],
      ['created_at', timestamp(t.createdAt)],
      ['updated_at', timestamp(t.updatedAt)],
    ]),
  );
}

const QUEUE_HELP = 'priority topic: immediate, high, medium or low';

export function jobTypesCommand(): Command {
  const jobTypes = new Command('job-types').description('manage job types (admin)');

  jobTypes
    .command('create')
    .description('register a job type of a producer')
    .requiredOption('--producer <id>', 'producer id')
    .requiredOption('--name <name>', 'job type name')
    .option('--queue <queue>', `${QUEUE_HELP} (default: medium)`, parseQueue)
    .option('--max-retries <n>', 'retries for consumers (default 3)', integer)
    .option('--description <text>', 'what the job does', '')
    .action(
      async (
        opts: {
          producer: string;
          name: string;
          queue?: Queue;
          maxRetries?: number;
          description: string;
        },
        cmd: Command,
      ) =>
        withClient(cmd, async (client, options) => {
          const res = await client.createJobType({
            producerId: opts.producer,
            name: opts.name,
            queue: opts.queue,
            maxRetries: opts.maxRetries,
            description: opts.description,
          });
          showJobType(options, res.jobType);
        }),
    );

  jobTypes
    .command('get')
    .description('print one job type')
    .argument('<producer>', 'producer id')
    .argument('<name>', 'job type name')
    .action(async (producer: string, name: string, _opts: unknown, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        const res = await client.getJobType({ producerId: producer, name });
        showJobType(options, res.jobType);
      }),
    );

  jobTypes
    .command('list')
    .description("list a producer's job types by name")
    .requiredOption('--producer <id>', 'producer id')
    .action(async (opts: { producer: string }, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        const all = await everyPage(
          (page) => client.listJobTypes({ producerId: opts.producer, ...page }),
          (page) => page.jobTypes,
        );
        print(options, { jobTypes: all.map((t) => JobType.toJSON(t)) }, () =>
          table(
            ['name', 'queue', 'max_retries', 'created_at', 'description'],
            all.map((t) => [
              t.name,
              queueName(t.queue),
              String(t.maxRetries),
              timestamp(t.createdAt),
              t.description,
            ]),
          ),
        );
      }),
    );

  jobTypes
    .command('update')
    .description('change the given fields of a job type (the update mask is what was given)')
    .argument('<producer>', 'producer id')
    .argument('<name>', 'job type name')
    .option('--queue <queue>', QUEUE_HELP, parseQueue)
    .option('--max-retries <n>', 'retries for consumers (0 or less: 3)', integer)
    .option('--description <text>', 'new description')
    .action(
      async (
        producer: string,
        name: string,
        opts: { queue?: Queue; maxRetries?: number; description?: string },
        cmd: Command,
      ) => {
        const paths: string[] = [];
        if (opts.queue !== undefined) paths.push('queue');
        if (opts.maxRetries !== undefined) paths.push('max_retries');
        if (opts.description !== undefined) paths.push('description');
        if (paths.length === 0) {
          throw usageError('nothing to update: give --queue, --max-retries or --description');
        }
        await withClient(cmd, async (client, options) => {
          const res = await client.updateJobType({
            jobType: { producerId: producer, name, ...opts },
            updateMask: paths,
          });
          showJobType(options, res.jobType);
        });
      },
    );

  jobTypes
    .command('delete')
    .description('delete a job type')
    .argument('<producer>', 'producer id')
    .argument('<name>', 'job type name')
    .action(async (producer: string, name: string, _opts: unknown, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        await client.deleteJobType({ producerId: producer, name });
        print(
          options,
          { producerId: producer, name, deleted: true },
          () => `deleted job type ${name} of ${producer}`,
        );
      }),
    );

  return jobTypes;
}
