/** `jack health`: grpc.health.v1 Check of the server and its two services. */
import { Command } from 'commander';
import { JackClientError } from '../../client/index.js';
import { CliError, print, table, withClient } from '../context.js';

export const HEALTH_SERVICES = ['', 'jack.BackgroundJobs', 'jack.AdminService', 'jack.Jobs'];

export function healthCommand(): Command {
  return new Command('health')
    .description('health of the server and its two services; exit 1 unless all are SERVING')
    .action(async (_opts: unknown, cmd: Command) =>
      withClient(cmd, async (client, options) => {
        const services: { service: string; status: string }[] = [];
        for (const service of HEALTH_SERVICES) {
          try {
            const res = await client.check(service, { deadlineMs: 5_000 });
            services.push({ service, status: res.status });
          } catch (err) {
            // A service the server does not know is a status, not a failure of the command.
            if (!(err instanceof JackClientError) || err.codeName !== 'not_found') throw err;
            services.push({ service, status: 'SERVICE_UNKNOWN' });
          }
        }
        const serving = services.every((s) => s.status === 'SERVING');
        print(options, { serving, services }, () =>
          table(
            ['service', 'status'],
            services.map((s) => [s.service || '(server)', s.status]),
          ),
        );
        if (!serving) throw new CliError('not every service is SERVING', 'not_serving', 1);
      }),
    );
}
