#!/usr/bin/env node
/**
 * The `jack` command (SPEC §13): talks to Jack through the typed client.
 * Exit 0 on success, 1 on failure, 2 on a usage error; an error is one line
 * `jack: <what> (<code>)` on stderr.
 */
import { createRequire } from 'node:module';
import { logVerbosity, setLogVerbosity } from '@grpc/grpc-js';
import { Command, CommanderError } from 'commander';
import { JackClientError } from '../client/index.js';
import { bulkCommand } from './commands/bulk.js';
import { decodeIdCommand } from './commands/decode-id.js';
import { cancelCommand, enqueueCommand } from './commands/enqueue.js';
import { healthCommand } from './commands/health.js';
import { jobTypesCommand } from './commands/job-types.js';
import { jobsCommand } from './commands/jobs.js';
import { keysCommand } from './commands/keys.js';
import { producersCommand } from './commands/producers.js';
import { workCommand } from './commands/work.js';
import { addGlobalOptions, CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './context.js';

/** The version of the installed package (dist/cli/main.js → ../../package.json). */
function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function fail(what: string, code: string): void {
  process.stderr.write(`jack: ${what.replace(/\s+/g, ' ').trim()} (${code})\n`);
}

/** Applies commander's settings to a command and every subcommand. */
function configure(command: Command): void {
  command
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      // commander's own usage errors ("error: unknown option '--x'") become our one line.
      outputError: (text) => fail(text.replace(/^error: /, ''), 'usage'),
    });
  for (const sub of command.commands) configure(sub);
}

export function buildProgram(): Command {
  const program = addGlobalOptions(
    new Command('jack')
      .description('Talk to Jack, the background-job enqueue service')
      .version(packageVersion(), '--version'),
  );
  program
    .addCommand(healthCommand())
    .addCommand(producersCommand())
    .addCommand(jobTypesCommand())
    .addCommand(keysCommand())
    .addCommand(enqueueCommand())
    .addCommand(bulkCommand())
    .addCommand(cancelCommand())
    .addCommand(jobsCommand())
    .addCommand(decodeIdCommand())
    .addCommand(workCommand())
    .addHelpText(
      'after',
      '\nGlobal options may come anywhere on the line. --addr and --token default to $JACK_ADDR and $JACK_TOKEN.\nExit status: 0 success, 1 failure, 2 usage error.\n',
    );
  configure(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // grpc-js would log its own warnings on stderr; the CLI reports one line of its own.
  setLogVerbosity(logVerbosity.NONE);
  // Node's deprecation notices (e.g. DEP0123 when grpc-js dials TLS by IP
  // address) are not the user's concern and would break the one-line rule.
  process.noDeprecation = true;
  try {
    await buildProgram().parseAsync(argv);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof CliError) {
      fail(err.message, err.code);
      return err.exitCode;
    }
    if (err instanceof JackClientError) {
      fail(err.details || err.codeName, err.codeName);
      return EXIT_FAILURE;
    }
    fail((err as Error).message ?? String(err), 'error');
    return EXIT_FAILURE;
  }
}

process.exitCode = await main(process.argv);
