/**
 * `jack work` (SPEC §15): a worker for any language. Runs COMMAND once per
 * job — payload on stdin, the job in its environment — and settles the job
 * by its exit status: 0 SUCCEEDED; 65 (EX_DATAERR) DEAD at once; 75
 * (EX_TEMPFAIL), any other status or a signal FAILED and redelivered (DEAD
 * on the last allowed attempt).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { natsCredentialOptions, parseNats } from '../../config/nats.js';
import { Parser, parseDurationMs } from '../../config/parser.js';
// Only the light parts of the worker are loaded with the CLI: the backends
// (the Pub/Sub client alone is ~16 MB of heap) are imported when `jack work`
// runs, so every other command — `jack bulk` under a 32 MB heap cap above
// all — does not carry them.
import type { Handler, Job, WorkerBackend } from '../../worker/index.js';
import { NonRetryableError, PRIORITIES, type Priority } from '../../worker/job.js';
import { LaneUnusableError } from '../../worker/lane-source.js';
import { CliError, clientFor, globals, usageError } from '../context.js';

/** sysexits.h: the input data was incorrect — never retried. */
export const EX_DATAERR = 65;
/** After an abort (timeout, stop), the command gets SIGTERM, then SIGKILL this much later. */
const KILL_AFTER_MS = 5_000;

function parseLane(text: string, previous: Partial<Record<Priority, string>> = {}) {
  const match = /^([a-z]+)=(\S+)$/i.exec(text.trim());
  const priority = match?.[1]?.toLowerCase() as Priority | undefined;
  if (match === null || priority === undefined || !PRIORITIES.includes(priority)) {
    throw new InvalidArgumentError(
      'expected PRIORITY=LANE (a Pub/Sub subscription or a NATS consumer), PRIORITY one of immediate, high, medium, low',
    );
  }
  if (previous[priority] !== undefined)
    throw new InvalidArgumentError(`lane ${priority} given twice`);
  return { ...previous, [priority]: match[2] as string };
}

function parseDuration(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0)
    throw new InvalidArgumentError('not a positive duration (e.g. 30s, 5m)');
  return ms;
}

function parseCount(text: string): number {
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1) {
    throw new InvalidArgumentError('a whole number from 1 to 9999');
  }
  return Number(text);
}

/** Runs the command for one job; resolves on exit 0, throws otherwise. */
export function commandHandler(command: string, args: readonly string[]): Handler {
  return (job: Job, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, {
        stdio: ['pipe', 'inherit', 'inherit'],
        env: {
          ...process.env,
          JACK_JOB_ID: job.id,
          JACK_PRODUCER_ID: job.producerId,
          JACK_JOB_TYPE: job.type,
          JACK_PRIORITY: job.priority,
          JACK_ATTEMPT: String(job.attempt),
        },
      });
      let killTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
        killTimer.unref();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      // A command that does not read its stdin closes the pipe: not an error of the job's.
      child.stdin.on('error', () => {});
      child.stdin.end(job.payload);
      child.on('error', (err) => {
        signal.removeEventListener('abort', onAbort);
        reject(new NonRetryableError(`cannot run ${command}: ${err.message}`));
      });
      child.on('close', (code, signalName) => {
        signal.removeEventListener('abort', onAbort);
        clearTimeout(killTimer);
        if (code === 0) resolve();
        else if (code === EX_DATAERR)
          reject(new NonRetryableError(`${command} exited with 65 (EX_DATAERR)`));
        else if (signalName !== null) reject(new Error(`${command} was killed by ${signalName}`));
        else reject(new Error(`${command} exited with ${code}`));
      });
    });
}

export function workCommand(): Command {
  return new Command('work')
    .description(
      'Run COMMAND once per job from the given lanes (payload on stdin, JACK_* in its environment)',
    )
    .requiredOption(
      '--lane <priority=name>',
      'a lane to consume: a Pub/Sub subscription, or a NATS durable consumer (repeatable)',
      parseLane,
    )
    .option(
      '--type <job_type>',
      'run only jobs of this type (repeatable); others are handed back (default: every type)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--concurrency <n>', 'jobs run at once', parseCount, 8)
    .option(
      '--timeout <duration>',
      'a job running longer is stopped and counted as failed',
      parseDuration,
      300_000,
    )
    .option(
      '--grace <duration>',
      'on SIGTERM/SIGINT, how long running jobs may finish',
      parseDuration,
      30_000,
    )
    .addOption(
      new Option('--backend <kind>', 'queue backend: pubsub or nats')
        .env('QUEUE_BACKEND')
        .default('pubsub'),
    )
    .addOption(new Option('--project <id>', 'Pub/Sub project').env('PUBSUB_PROJECT'))
    .addOption(
      new Option('--emulator-host <host:port>', 'Pub/Sub emulator').env('PUBSUB_EMULATOR_HOST'),
    )
    .option('--metrics-port <port>', 'serve Prometheus metrics at :PORT/metrics', (v: string) => {
      if (!/^\d{1,5}$/.test(v) || Number(v) > 65535)
        throw new InvalidArgumentError('a port number');
      return Number(v);
    })
    .addOption(
      new Option(
        '--nats-url <urls>',
        'NATS servers, comma-separated nats:// or tls:// URLs (credentials: user:password@, NATS_TOKEN or NATS_CREDS_FILE)',
      ).env('NATS_URL'),
    )
    .addOption(
      new Option('--nats-stream <name>', "Jack's NATS stream (default JACK)").env('NATS_STREAM'),
    )
    .addOption(new Option('--nats-subject-prefix <prefix>').env('NATS_SUBJECT_PREFIX').hideHelp())
    .addOption(new Option('--nats-token <token>').env('NATS_TOKEN').hideHelp())
    .addOption(new Option('--nats-creds-file <path>').env('NATS_CREDS_FILE').hideHelp())
    .addOption(
      new Option('--nats-create-stream <bool>', 'development NATS (NATS_CREATE_STREAM)')
        .env('NATS_CREATE_STREAM')
        .hideHelp(),
    )
    .option(
      '--create-subscriptions',
      'development: create each missing lane (Pub/Sub: a subscription on PUBSUB_TOPIC_*, needs PUBSUB_EMULATOR_HOST; NATS: a durable consumer on the lane, needs NATS_CREATE_STREAM=true)',
    )
    .addOption(new Option('--topic-immediate <topic>').env('PUBSUB_TOPIC_IMMEDIATE').hideHelp())
    .addOption(new Option('--topic-high <topic>').env('PUBSUB_TOPIC_HIGH').hideHelp())
    .addOption(new Option('--topic-medium <topic>').env('PUBSUB_TOPIC_MEDIUM').hideHelp())
    .addOption(new Option('--topic-low <topic>').env('PUBSUB_TOPIC_LOW').hideHelp())
    .argument('<command>', 'the program to run per job')
    .argument('[args...]', 'its arguments')
    .addHelpText(
      'after',
      '\nExit status of COMMAND: 0 succeeded; 65 dead (never retried); 75, any other or a signal: failed, retried.\nWithout --addr / JACK_ADDR no reports are sent (local de-duplication only).\n',
    )
    .action(async (command: string, args: string[], options, cmd: Command) => {
      if (options.backend !== 'pubsub' && options.backend !== 'nats') {
        throw usageError(
          `QUEUE_BACKEND=${options.backend} is not supported by jack work (pubsub, nats)`,
        );
      }
      const backend: WorkerBackend =
        options.backend === 'nats'
          ? await natsWorkerBackend(options)
          : await pubsubWorkerBackend(options);
      const { createWorker } = await import('../../worker/index.js');
      const run = commandHandler(command, args);
      const types: string[] = options.type ?? [];
      const reporting = cmd.getOptionValueSourceWithGlobals('addr') !== 'default';
      const jack = reporting ? clientFor(globals(cmd)) : undefined;
      const logger = pino({ base: undefined, name: 'jack-work' }, pino.destination(2));
      const worker = createWorker({
        backend,
        lanes: options.lane,
        handlers: Object.fromEntries(types.map((t) => [t, run])),
        ...(types.length === 0 ? { fallback: run } : {}),
        concurrency: options.concurrency,
        createSubscriptions: options.createSubscriptions === true,
        metricsPort: options.metricsPort,
        timeout: options.timeout,
        gracePeriod: options.grace,
        jack,
        logger,
        onLaneError: (lane, err) => {
          // A lane that cannot be read (no such subscription or consumer, no
          // permission) is a configuration error: stop with one line, as Jack
          // does at startup.
          if (err instanceof LaneUnusableError) {
            laneFailure ??= `lane ${lane} (${options.lane[lane]}): ${err.message}`;
            requestStop();
            return;
          }
          const code = (err as { code?: number }).code;
          if (code === 5 || code === 7) {
            laneFailure ??= `lane ${lane} (${options.lane[lane]}): ${code === 5 ? 'no such subscription' : 'permission denied'}`;
            requestStop();
          }
        },
      });
      let laneFailure: string | undefined;
      let requestStop: () => void = () => {};
      const stopRequested = new Promise<void>((resolve) => {
        requestStop = resolve;
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      try {
        await worker.start();
      } catch (err) {
        await worker.stop();
        jack?.close();
        throw usageError((err as Error).message);
      }
      await stopRequested;
      await worker.stop();
      if (laneFailure !== undefined) {
        jack?.close();
        throw new CliError(laneFailure, 'failed_precondition');
      }
      jack?.close();
    });
}

interface BackendFlags {
  project?: string;
  emulatorHost?: string;
  topicImmediate?: string;
  topicHigh?: string;
  topicMedium?: string;
  topicLow?: string;
  natsUrl?: string;
  natsStream?: string;
  natsSubjectPrefix?: string;
  natsToken?: string;
  natsCredsFile?: string;
  natsCreateStream?: string;
}

async function pubsubWorkerBackend(options: BackendFlags): Promise<WorkerBackend> {
  if ((options.project ?? '') === '') throw usageError('PUBSUB_PROJECT (or --project) is required');
  const { pubsubBackend } = await import('../../worker/pubsub.js');
  return pubsubBackend({
    projectId: options.project,
    emulatorHost: options.emulatorHost || undefined,
    topics: {
      immediate: options.topicImmediate,
      high: options.topicHigh,
      medium: options.topicMedium,
      low: options.topicLow,
    },
  });
}

/**
 * The NATS settings read the way Jack reads them (SPEC §17, config/nats.ts),
 * so one env file serves both; a problem names the variable, never the
 * URL's text (it may hold a password).
 */
async function natsWorkerBackend(options: BackendFlags): Promise<WorkerBackend> {
  const problems: string[] = [];
  const config = parseNats(
    new Parser(
      {
        NATS_URL: options.natsUrl,
        NATS_STREAM: options.natsStream,
        NATS_SUBJECT_PREFIX: options.natsSubjectPrefix,
        NATS_TOKEN: options.natsToken,
        NATS_CREDS_FILE: options.natsCredsFile,
        NATS_CREATE_STREAM: options.natsCreateStream,
      },
      problems,
    ),
  );
  if (problems.length > 0) throw usageError(problems.join('; '));
  const { credsAuthenticator } = await import('nats');
  const { natsBackend } = await import('../../worker/nats.js');
  let authenticator: ReturnType<typeof credsAuthenticator> | undefined;
  if (config.credsFile !== undefined) {
    try {
      authenticator = credsAuthenticator(new Uint8Array(readFileSync(config.credsFile)));
    } catch {
      throw usageError('NATS_CREDS_FILE cannot be read');
    }
  }
  return natsBackend({
    servers: config.servers,
    connectOptions: {
      ...natsCredentialOptions(config),
      ...(authenticator === undefined ? {} : { authenticator }),
    },
    stream: config.stream,
    subjectPrefix: config.subjectPrefix,
    development: config.createStream,
  });
}
