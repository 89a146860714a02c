/**
 * The scheduler section (SPEC §3, §16): who holds jobs due later. `SCHEDULER`
 * = `none` (a future job is published at once with its run_at), `cloudtasks`
 * (implied by CLOUD_TASKS_*) or `ledger` (kept in the job ledger, published
 * by Jack when due).
 */
import type { BackendConfig } from './backend.js';
import { DEFAULTS } from './defaults.js';
import type { LedgerConfig } from './ledger.js';
import type { Parser } from './parser.js';

export type SchedulerConfig =
  | { kind: 'none' }
  | {
      kind: 'ledger';
      /** The ledger keeps future jobs in memory only (JOB_LEDGER=memory): lost at exit. */
      inMemory: boolean;
    }
  | {
      kind: 'cloud-tasks';
      project: string;
      location: string;
      queue: string;
      serviceAccount: string;
      /** Base URL of the Pub/Sub REST API the task calls when it fires. */
      pubsubRestEndpoint: string;
      /** host:port of a plaintext Cloud Tasks endpoint (tests); undefined = Google. */
      apiEndpoint: string | undefined;
    };

export function parseScheduler(
  p: Parser,
  backend: BackendConfig,
  ledger: LedgerConfig,
  problems: string[],
): SchedulerConfig {
  const chosen = p.oneOf('SCHEDULER', ['none', 'cloudtasks', 'ledger'] as const);
  const cloudTasks = parseCloudTasks(p, backend, problems);
  if (chosen === 'ledger') {
    if (cloudTasks.kind !== 'none') {
      problems.push(
        'SCHEDULER=ledger and CLOUD_TASKS_* are both set: choose one scheduler (unset CLOUD_TASKS_* or SCHEDULER)',
      );
    }
    if (ledger.kind === 'off') {
      problems.push(
        'SCHEDULER=ledger keeps future jobs in the job ledger, but JOB_LEDGER=off: set JOB_LEDGER=postgres (or memory, for development)',
      );
    }
    return { kind: 'ledger', inMemory: ledger.kind === 'memory' };
  }
  if (chosen === 'none' && cloudTasks.kind !== 'none') {
    problems.push(
      'SCHEDULER=none but CLOUD_TASKS_* are set: unset them, or set SCHEDULER=cloudtasks',
    );
    return { kind: 'none' };
  }
  if (chosen === 'cloudtasks' && cloudTasks.kind === 'none') {
    problems.push(
      'SCHEDULER=cloudtasks needs CLOUD_TASKS_PROJECT, CLOUD_TASKS_LOCATION and CLOUD_TASKS_QUEUE',
    );
  }
  return cloudTasks;
}

/** CLOUD_TASKS_*: all three turn the Cloud Tasks scheduler on. */
function parseCloudTasks(p: Parser, backend: BackendConfig, problems: string[]): SchedulerConfig {
  const names = ['CLOUD_TASKS_PROJECT', 'CLOUD_TASKS_LOCATION', 'CLOUD_TASKS_QUEUE'] as const;
  const [project, location, queue] = names.map((name) => p.string(name));
  const serviceAccount = p.string('CLOUD_TASKS_SERVICE_ACCOUNT');
  const pubsubRestEndpoint = (p.url('PUBSUB_REST_ENDPOINT') ?? DEFAULTS.pubsubRestEndpoint).replace(
    /\/+$/,
    '',
  );
  const apiEndpoint = p.string('CLOUD_TASKS_ENDPOINT');
  const given = [project, location, queue].filter((v) => v !== undefined).length;
  if (given === 0) return { kind: 'none' };
  if (given < 3 || project === undefined || location === undefined || queue === undefined) {
    problems.push(`${names.join(', ')} must be set together to enable the Cloud Tasks scheduler`);
    return { kind: 'none' };
  }
  if (serviceAccount === undefined) {
    problems.push(
      'CLOUD_TASKS_SERVICE_ACCOUNT is required with the Cloud Tasks scheduler (its token publishes the job)',
    );
  }
  if (backend.kind !== 'pubsub') {
    problems.push(
      'the Cloud Tasks scheduler publishes to Pub/Sub topics: it needs QUEUE_BACKEND=pubsub',
    );
  }
  return {
    kind: 'cloud-tasks',
    project,
    location,
    queue,
    serviceAccount: serviceAccount ?? '',
    pubsubRestEndpoint,
    apiEndpoint,
  };
}
