/** `jack producers …`: create, get, list, update, delete (AdminService). */
import { Command } from 'commander';
import { Producer } from '../../gen/jack/storage.js';
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

function showProducer(options: GlobalOptions, producer: Producer | undefined): void {
  const p = producer ?? Producer.decode(Buffer.alloc(0));
  print(options, Producer.toJSON(p), () =>
    record([
      ['producer_id', p.producerId],
      ['name', p.name],
      ['description', p.description],
      ['rate_limit_rps', String(p.rateLimitRps)],
      ['principals', p.principals.join(', ')],
      ['created_at', timestamp(p.createdAt)],
      ['updated_at', timestamp(p.updatedAt)],
    ]),
  );
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function producersCommand(): Command {
  const producers = new Command('producers').description('manage producers (admin)');

  producers
    .command('create')
    .description('register a producer; prints it with its new id')
    .requiredOption('--name <name>', 'name of the producer')
    .option('--description <text>', 'what the producer is', '')
    .action(async (opts: { name: string; description: string }, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        const res = await client.createProducer(opts);
        showProducer(options, res.producer);
      }),
    );

  producers
    .command('get')
    .description('print one producer')
    .argument('<id>', 'producer id (prod_…)')
    .action(async (id: string, _opts: unknown, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        const res = await client.getProducer({ producerId: id });
        showProducer(options, res.producer);
      }),
    );

  producers
    .command('list')
    .description('list every producer, oldest first')
    .action(async (_opts: unknown, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        const all = await everyPage(
          (page) => client.listProducers(page),
          (page) => page.producers,
        );
        print(options, { producers: all.map((p) => Producer.toJSON(p)) }, () =>
          table(
            ['producer_id', 'name', 'rate_limit_rps', 'created_at', 'description'],
            all.map((p) => [
              p.producerId,
              p.name,
              String(p.rateLimitRps),
              timestamp(p.createdAt),
              p.description,
            ]),
          ),
        );
      }),
    );

  producers
    .command('update')
    .description('change the given fields of a producer (the update mask is what was given)')
    .argument('<id>', 'producer id')
    .option('--name <name>', 'new name')
    .option('--description <text>', 'new description')
    .option('--rate-limit-rps <n>', 'jobs per second (0 or less: unlimited)', integer)
    .option(
      '--principal <principal>',
      'OIDC / certificate principal that may act as the producer (repeat; replaces the list)',
      collect,
    )
    // An empty list cannot be said with --principal: this is how the last one goes.
    .option('--clear-principals', 'remove every principal')
    .action(
      async (
        id: string,
        opts: {
          name?: string;
          description?: string;
          rateLimitRps?: number;
          principal?: string[];
          clearPrincipals?: boolean;
        },
        cmd: Command,
      ) => {
        if (opts.clearPrincipals && opts.principal !== undefined) {
          throw usageError('give --principal or --clear-principals, not both');
        }
        const principals = opts.clearPrincipals ? [] : opts.principal;
        const paths: string[] = [];
        if (opts.name !== undefined) paths.push('name');
        if (opts.description !== undefined) paths.push('description');
        if (opts.rateLimitRps !== undefined) paths.push('rate_limit_rps');
        if (principals !== undefined) paths.push('principals');
        if (paths.length === 0) {
          throw usageError(
            'nothing to update: give --name, --description, --rate-limit-rps, --principal or --clear-principals',
          );
        }
        await withClient(cmd, async (client, options) => {
          const res = await client.updateProducer({
            producer: {
              producerId: id,
              name: opts.name,
              description: opts.description,
              rateLimitRps: opts.rateLimitRps,
              principals,
            },
            updateMask: paths,
          });
          showProducer(options, res.producer);
        });
      },
    );

  producers
    .command('delete')
    .description('delete a producer with its job types and API keys')
    .argument('<id>', 'producer id')
    .action(async (id: string, _opts: unknown, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        await client.deleteProducer({ producerId: id });
        print(options, { producerId: id, deleted: true }, () => `deleted producer ${id}`);
      }),
    );

  return producers;
}
