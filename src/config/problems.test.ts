import { describe, expect, it } from 'vitest';
import { configError } from '../../test/support/config-error.js';

const PUBSUB = {
  QUEUE_BACKEND: 'pubsub',
  PUBSUB_PROJECT: 'proj',
  PUBSUB_TOPIC_MEDIUM: 'jobs-medium',
};

describe('loadConfig rejects invalid values with a reason that names the variable', () => {
  it.each<{ env: Record<string, string>; problem: string }>([
    { env: { GRPC_PORT: 'http' }, problem: 'GRPC_PORT="http" is not a port number (0-65535)' },
    { env: { GRPC_PORT: '65536' }, problem: 'GRPC_PORT="65536" is not a port number (0-65535)' },
    { env: { GRPC_PORT: '-1' }, problem: 'GRPC_PORT="-1" is not a port number (0-65535)' },
    { env: { METRICS_PORT: '9x' }, problem: 'METRICS_PORT="9x" is not a port number (0-65535)' },
    {
      env: { QUEUE_BACKEND: 'kafka' },
      problem: 'QUEUE_BACKEND="kafka" is not one of noop|pubsub|nats',
    },
    {
      env: { QUEUE_BACKEND: 'PubSub' },
      problem: 'QUEUE_BACKEND="PubSub" is not one of noop|pubsub|nats',
    },
    {
      env: { MESSAGE_FORMAT: 'json' },
      problem: 'MESSAGE_FORMAT="json" is not one of native|legacy',
    },
    {
      env: { SCHEDULE_THRESHOLD: '10' },
      problem: 'SCHEDULE_THRESHOLD="10" is not a duration (e.g. 500ms, 10s, 1m)',
    },
    {
      env: { SHUTDOWN_GRACE_PERIOD: 'soon' },
      problem: 'SHUTDOWN_GRACE_PERIOD="soon" is not a duration (e.g. 500ms, 10s, 1m)',
    },
    {
      env: { CONFIG_REFRESH_INTERVAL: '0' },
      problem: 'CONFIG_REFRESH_INTERVAL="0" is not a positive duration (e.g. 500ms, 10s, 1m)',
    },
    {
      env: { ...PUBSUB, PUBSUB_PUBLISH_TIMEOUT: '5 s' },
      problem: 'PUBSUB_PUBLISH_TIMEOUT="5 s" is not a positive duration (e.g. 500ms, 10s, 1m)',
    },
    {
      env: { GRPC_MAX_RECEIVE_BYTES: '16 MiBs' },
      problem:
        'GRPC_MAX_RECEIVE_BYTES="16 MiBs" is not a size in bytes (e.g. 1048576, 512KiB, 16MiB)',
    },
    {
      env: { MAX_PAYLOAD_BYTES: '0' },
      problem: 'MAX_PAYLOAD_BYTES="0" is not a size in bytes (e.g. 1048576, 512KiB, 16MiB)',
    },
    {
      env: { MAX_BULK_JOBS: '0' },
      problem: 'MAX_BULK_JOBS="0" is not a positive integer',
    },
    {
      env: { LEGACY_PAYLOAD_QUEUE_ROUTING: 'maybe' },
      problem:
        'LEGACY_PAYLOAD_QUEUE_ROUTING="maybe" is not a boolean (true|t|1|yes|on or false|f|0|no|off, in any letter case)',
    },
    {
      env: { LOG_LEVEL: 'verbose' },
      problem: 'LOG_LEVEL="verbose" is not one of fatal|error|warn|info|debug|trace|silent',
    },
    {
      env: { PUBSUB_REST_ENDPOINT: 'pubsub.googleapis.com' },
      problem: 'PUBSUB_REST_ENDPOINT="pubsub.googleapis.com" is not an http(s) URL',
    },
    {
      env: { TLS_CERT_FILE: 'cert.pem' },
      problem: 'TLS_CERT_FILE and TLS_KEY_FILE must be set together (both or neither)',
    },
    {
      env: { TLS_KEY_FILE: 'key.pem' },
      problem: 'TLS_CERT_FILE and TLS_KEY_FILE must be set together (both or neither)',
    },
    {
      env: { PUBSUB_PROJECT: 'proj' },
      problem: 'PUBSUB_PROJECT set while QUEUE_BACKEND=noop (set QUEUE_BACKEND=pubsub to publish)',
    },
    {
      env: { QUEUE_BACKEND: 'noop', PUBSUB_PROJECT: 'p', PUBSUB_TOPIC_LOW: 'low' },
      problem:
        'PUBSUB_PROJECT, PUBSUB_TOPIC_LOW set while QUEUE_BACKEND=noop (set QUEUE_BACKEND=pubsub to publish)',
    },
    {
      env: { QUEUE_BACKEND: 'nats' },
      problem: 'NATS_URL is required when QUEUE_BACKEND=nats',
    },
    {
      env: { QUEUE_BACKEND: 'nats', NATS_URL: 'nats://a:4222,http://u:secret@b' },
      problem: 'NATS_URL entry 2 is not a nats://host:port or tls://host:port URL',
    },
    {
      env: { QUEUE_BACKEND: 'nats', NATS_URL: 'nats://u:p@a', NATS_TOKEN: 't' },
      problem:
        'NATS credentials: set only one of user:password in NATS_URL, NATS_TOKEN, NATS_CREDS_FILE',
    },
    {
      env: { QUEUE_BACKEND: 'nats', NATS_URL: 'nats://a', NATS_SUBJECT_PREFIX: 'jack.*' },
      problem:
        'NATS_SUBJECT_PREFIX="jack.*" is not a subject prefix (dot-separated tokens of letters, digits, _ and -)',
    },
    {
      env: { QUEUE_BACKEND: 'nats', NATS_URL: 'nats://a', NATS_STREAM: 'JA.CK' },
      problem: 'NATS_STREAM="JA.CK" is not a stream name (letters, digits, _ and -, at most 64)',
    },
    {
      env: { NATS_URL: 'nats://a' },
      problem: 'NATS_URL set while QUEUE_BACKEND=noop (set QUEUE_BACKEND=nats to publish)',
    },
    {
      env: { QUEUE_BACKEND: 'nats', NATS_URL: 'nats://a', PUBSUB_PROJECT: 'p' },
      problem: 'PUBSUB_PROJECT set while QUEUE_BACKEND=nats (set QUEUE_BACKEND=pubsub to publish)',
    },
    {
      env: { QUEUE_BACKEND: 'pubsub', PUBSUB_PROJECT: 'proj', PUBSUB_TOPIC_HIGH: 'high' },
      problem: 'PUBSUB_TOPIC_MEDIUM is required when QUEUE_BACKEND=pubsub',
    },
    {
      env: { QUEUE_BACKEND: 'pubsub', PUBSUB_TOPIC_MEDIUM: 'medium' },
      problem: 'PUBSUB_PROJECT is required when QUEUE_BACKEND=pubsub',
    },
    {
      env: { MAX_PAYLOAD_BYTES: '10000001' },
      problem: 'MAX_PAYLOAD_BYTES=10000001 is above the Pub/Sub message limit of 10000000 bytes',
    },
    {
      env: { MAX_PAYLOAD_BYTES: '1MiB', GRPC_MAX_RECEIVE_BYTES: '1MiB' },
      problem:
        'MAX_PAYLOAD_BYTES=1048576 does not fit in one request of GRPC_MAX_RECEIVE_BYTES=1048576 (leave 8192 bytes for the other fields)',
    },
    {
      env: { GRPC_MAX_RECEIVE_BYTES: '512KiB' },
      problem:
        'MAX_PAYLOAD_BYTES=1048576 does not fit in one request of GRPC_MAX_RECEIVE_BYTES=524288 (leave 8192 bytes for the other fields)',
    },
    {
      env: { ...PUBSUB, CLOUD_TASKS_PROJECT: 'p', CLOUD_TASKS_QUEUE: 'q' },
      problem:
        'CLOUD_TASKS_PROJECT, CLOUD_TASKS_LOCATION, CLOUD_TASKS_QUEUE must be set together to enable the Cloud Tasks scheduler',
    },
    {
      env: {
        ...PUBSUB,
        CLOUD_TASKS_PROJECT: 'p',
        CLOUD_TASKS_LOCATION: 'l',
        CLOUD_TASKS_QUEUE: 'q',
      },
      problem:
        'CLOUD_TASKS_SERVICE_ACCOUNT is required with the Cloud Tasks scheduler (its token publishes the job)',
    },
    {
      env: {
        CLOUD_TASKS_PROJECT: 'p',
        CLOUD_TASKS_LOCATION: 'l',
        CLOUD_TASKS_QUEUE: 'q',
        CLOUD_TASKS_SERVICE_ACCOUNT: 'sa@p.iam.gserviceaccount.com',
      },
      problem:
        'the Cloud Tasks scheduler publishes to Pub/Sub topics: it needs QUEUE_BACKEND=pubsub',
    },
    {
      env: { GCS_BUCKET: 'b', CONFIG_DIR: './data' },
      problem: 'GCS_BUCKET and CONFIG_DIR are both set: choose one config store',
    },
    {
      env: { GCS_PREFIX: 'jack/' },
      problem: 'GCS_PREFIX is set but GCS_BUCKET is not',
    },
  ])('$problem', ({ env, problem }) => {
    const err = configError(env);
    expect(err.problems).toEqual([problem]);
    expect(err.message).toBe(`invalid configuration: ${problem}`);
  });
});
