/**
 * What every command shares: the global flags (and the two environment
 * variables behind them, read here and nowhere else in the CLI), the client
 * built from them, output as a table or one JSON document, and the CLI's own
 * errors with their exit codes.
 */
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { createJackClient, type JackClient, JackClientError } from '../client/index.js';

export const DEFAULT_ADDR = 'localhost:50051';

/** Exit codes (SPEC §13). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface GlobalOptions {
  addr: string;
  token?: string;
  tls?: boolean;
  ca?: string;
  json?: boolean;
}

/** A failure the CLI reports as `jack: <message> (<code>)` and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, 'usage', EXIT_USAGE);
}

/** Adds the global flags; commander recognises them before and after any subcommand. */
export function addGlobalOptions(program: Command): Command {
  return program
    .addOption(
      new Option('--addr <host:port>', 'address of Jack').env('JACK_ADDR').default(DEFAULT_ADDR),
    )
    .addOption(
      new Option('--token <token>', 'API key or OIDC ID token, sent as a bearer token').env(
        'JACK_TOKEN',
      ),
    )
    .option('--tls', 'connect with TLS (system roots unless --ca)')
    .option('--ca <file>', 'PEM file of the CA to trust (implies --tls)')
    .option('--json', 'print one JSON document (bulk: JSON lines) instead of tables');
}

export function globals(command: Command): GlobalOptions {
  return command.optsWithGlobals() as GlobalOptions;
}

/** The client of the global flags; the caller closes it. */
export function clientFor(options: GlobalOptions): JackClient {
  let tls: boolean | { ca?: Buffer } = options.tls === true;
  if (options.ca !== undefined) {
    try {
      tls = { ca: readFileSync(options.ca) };
    } catch {
      throw new CliError(`cannot read CA file ${options.ca}`, 'io');
    }
  }
  // A token pasted or read from a file often ends in a newline or spaces: never part of it.
  const token = options.token?.trim() || undefined;
  try {
    return createJackClient({ addr: options.addr, token, tls });
  } catch (err) {
    if (err instanceof JackClientError) throw usageError(`--token / JACK_TOKEN: ${err.details}`);
    throw err;
  }
}

/** Runs `body` with a client of the global flags and closes it afterwards. */
export async function withClient<T>(
  command: Command,
  body: (client: JackClient, options: GlobalOptions) => Promise<T>,
): Promise<T> {
  const options = globals(command);
  const client = clientFor(options);
  try {
    return await body(client, options);
  } catch (err) {
    throw err instanceof JackClientError ? connectionError(err, options.addr) : err;
  } finally {
    client.close();
  }
}

/**
 * grpc-js words a failed connection in its own terms ("No connection
 * established. Last error: Error: connect ECONNREFUSED …. Resolution note:");
 * say it in one short line that names the address. Jack's own UNAVAILABLE
 * messages (e.g. its backend is down) pass unchanged.
 */
export function connectionError(err: JackClientError, addr: string): Error {
  if (err.codeName !== 'unavailable') return err;
  if (err.details.startsWith('Name resolution failed')) {
    return new CliError(`cannot resolve the host of ${addr}`, 'unavailable');
  }
  if (err.details.startsWith('No connection established')) {
    const cause =
      /\bE[A-Z]{4,}\b/.exec(err.details) ??
      /\b(certificate|self[- ]signed)[^.;]*/i.exec(err.details);
    return new CliError(
      `cannot reach Jack at ${addr}${cause ? `: ${cause[0].trim()}` : ''}`,
      'unavailable',
    );
  }
  return err;
}

/** Prints `doc` as JSON with --json, else the human text. */
export function print(options: GlobalOptions, doc: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(doc, null, 2)}\n` : `${human()}\n`);
}

/** Columns padded to their widest cell, two spaces apart; the header in upper case. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Two columns: field, value. */
export function record(fields: [string, string][]): string {
  return table(['field', 'value'], fields);
}

export function timestamp(date: Date | undefined): string {
  return date === undefined ? '' : date.toISOString();
}

/** commander argument parser for a non-negative integer. */
export function integer(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('not an integer');
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) {
    throw new InvalidArgumentError('out of range');
  }
  return n;
}

/** commander argument parser for a positive integer. */
export function positiveInteger(value: string): number {
  const n = integer(value);
  if (n <= 0) throw new InvalidArgumentError('must be at least 1');
  return n;
}

/** commander argument parser for an RFC 3339 time. */
export function rfc3339(value: string): Date {
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError('not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)');
  }
  return date;
}

/** Page size for lists: the largest the server honours (SPEC §10). */
const PAGE_SIZE = 1000;

/**
 * Every item of an admin list: asks for pages of PAGE_SIZE, passing each
 * answer's next_page_token back, until it is empty.
 */
export async function everyPage<Page extends { nextPageToken: string }, Item>(
  fetchPage: (request: { pageSize: number; pageToken: string }) => Promise<Page>,
  itemsOf: (page: Page) => Item[],
): Promise<Item[]> {
  const all: Item[] = [];
  let pageToken = '';
  do {
    const page = await fetchPage({ pageSize: PAGE_SIZE, pageToken });
    all.push(...itemsOf(page));
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return all;
}
