/** `jack keys …`: create, list, revoke API keys (AdminService, SPEC §7/§10). */
import { Command, InvalidArgumentError } from 'commander';
import { ApiKey, KeyRole } from '../../gen/jack/storage.js';
import { everyPage, print, record, table, timestamp, withClient } from '../context.js';

const ROLES: Record<string, KeyRole> = {
  admin: KeyRole.KEY_ROLE_ADMIN,
  producer: KeyRole.KEY_ROLE_PRODUCER,
  worker: KeyRole.KEY_ROLE_WORKER,
};

function parseRole(text: string): KeyRole {
  const role = ROLES[text.toLowerCase()];
  if (role === undefined) throw new InvalidArgumentError('one of admin, producer, worker');
  return role;
}

function roleName(key: ApiKey): string {
  const named = Object.entries(ROLES).find(([, role]) => role === key.role)?.[0];
  return named ?? (key.producerId ? 'producer' : 'admin');
}

export function keysCommand(): Command {
  const keys = new Command('keys').description('manage API keys (admin)');

  keys
    .command('create')
    .description('issue an API key; without --producer an admin key. The token is printed once')
    .option('--producer <id>', 'producer the key acts for (none: an admin key)', '')
    .option('--description <text>', 'what the key is for', '')
    .option(
      '--role <role>',
      "admin, producer or worker (reports and reads jobs; with --producer only that producer's); default: producer with --producer, else admin",
      parseRole,
    )
    .action(async (opts: { producer: string; description: string; role?: KeyRole }, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        const res = await client.createApiKey({
          producerId: opts.producer,
          description: opts.description,
          role: opts.role ?? KeyRole.KEY_ROLE_UNSPECIFIED,
        });
        const key = res.apiKey ?? ApiKey.decode(Buffer.alloc(0));
        print(options, { apiKey: ApiKey.toJSON(key), token: res.token }, () =>
          record([
            ['key_id', key.keyId],
            ['producer_id', key.producerId || '(none)'],
            ['role', roleName(key)],
            ['description', key.description],
            ['created_at', timestamp(key.createdAt)],
            ['token', res.token],
          ]),
        );
        if (!options.json)
          process.stderr.write('Store the token now: Jack never shows it again.\n');
      }),
    );

  keys
    .command('list')
    .description('list API keys, oldest first, every page (never their tokens)')
    .option('--producer <id>', "only this producer's keys", '')
    .action(async (opts: { producer: string }, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        const all = await everyPage(
          (page) => client.listApiKeys({ producerId: opts.producer, ...page }),
          (page) => page.apiKeys,
        );
        print(options, { apiKeys: all.map((k) => ApiKey.toJSON(k)) }, () =>
          table(
            ['key_id', 'producer_id', 'role', 'created_at', 'description'],
            all.map((k) => [
              k.keyId,
              k.producerId || '(none)',
              roleName(k),
              timestamp(k.createdAt),
              k.description,
            ]),
          ),
        );
      }),
    );

  keys
    .command('revoke')
    .description('revoke an API key: it stops working at once')
    .argument('<key-id>', 'key id (key_…)')
    .action(async (keyId: string, _opts: unknown, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        await client.revokeApiKey({ keyId });
        print(options, { keyId, revoked: true }, () => `revoked key ${keyId}`);
      }),
    );

  return keys;
}
