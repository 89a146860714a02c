/** The scheduler section: Cloud Tasks for jobs due later (SPEC §4), or none. */
import type { BackendConfig } from './backend.js';
import { DEFAULTS } from './defaults.js';
import type { Parser } from './parser.js';

export type SchedulerConfig =
  | { kind: 'none' }
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
  problems: string[],
): SchedulerConfig {
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
