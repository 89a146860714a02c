import { describe, expect, it } from 'vitest';
import { configError } from '../../test/support/config-error.js';
import { DEFAULTS, loadConfig, Secret } from './index.js';

const PUBSUB = {
  QUEUE_BACKEND: 'pubsub',
  PUBSUB_PROJECT: 'proj',
  PUBSUB_TOPIC_MEDIUM: 'jobs-medium',
};

describe('loadConfig', () => {
  it('applies every default to an empty environment', () => {
    expect(loadConfig({})).toEqual({
      grpcHost: '0.0.0.0',
      grpcPort: 50051,
      grpcMaxReceiveBytes: 16 * 1024 * 1024,
      http2: {
        maxConcurrentStreams: 100,
        maxConnectionIdleMs: 300_000,
        maxConnectionAgeMs: 1_800_000,
        maxConnectionAgeGraceMs: 60_000,
        keepaliveTimeMs: 60_000,
        keepaliveTimeoutMs: 20_000,
        maxSessionMemoryMiB: 32,
        maxConnections: 10_000,
        handshakeTimeoutMs: 5_000,
      },
      maxHealthWatchesPerConnection: 16,
      maxWatchesPerConnection: 16,
      tls: undefined,
      maxPayloadBytes: 1_048_576,
      maxBulkJobs: 1000,
      legacyPayloadQueueRouting: false,
      messageFormat: 'native',
      backend: { kind: 'noop' },
      scheduler: { kind: 'none' },
      scheduleThresholdMs: 60_000,
      healthCheckIntervalMs: 10_000,
      store: { kind: 'memory' },
      configRefreshIntervalMs: 30_000,
      shutdownGraceMs: 10_000,
      logLevel: 'info',
      metricsPort: undefined,
      auth: {
        mode: 'off',
        bootstrapAdminKey: undefined,
        adminPrincipals: [],
        workerPrincipals: [],
        oidc: undefined,
        clientCaFile: undefined,
      },
      admission: {
        validationMode: 'warn',
        rateLimitMode: 'off',
        defaultRateLimitRps: 1000,
        redisUrl: undefined,
        redisCaFile: undefined,
      },
      idempotency: { ttlMs: 86_400_000, maxKeys: 100_000 },
      ledger: {
        kind: 'memory',
        databaseUrl: undefined,
        writeTimeoutMs: 1_000,
        bufferSize: 10_000,
        maxJobs: 100_000,
        retentionMs: 7 * 86_400_000,
      },
    });
  });

  it('treats blank values as unset', () => {
    expect(loadConfig({ GRPC_PORT: '', QUEUE_BACKEND: '  ', PUBSUB_PROJECT: '' })).toMatchObject({
      grpcPort: 50051,
      backend: { kind: 'noop' },
    });
  });

  it('freezes the result', () => {
    expect(Object.isFrozen(loadConfig({}))).toBe(true);
  });

  it('parses every variable', () => {
    const config = loadConfig({
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: ' 6000 ',
      GRPC_MAX_RECEIVE_BYTES: '32MiB',
      TLS_CERT_FILE: 'cert.pem',
      TLS_KEY_FILE: 'key.pem',
      MAX_PAYLOAD_BYTES: '2MiB',
      MAX_BULK_JOBS: '50',
      LEGACY_PAYLOAD_QUEUE_ROUTING: 'true',
      MESSAGE_FORMAT: 'legacy',
      QUEUE_BACKEND: 'pubsub',
      PUBSUB_PROJECT: 'proj',
      PUBSUB_TOPIC_IMMEDIATE: 't-immediate',
      PUBSUB_TOPIC_HIGH: 't-high',
      PUBSUB_TOPIC_MEDIUM: 't-medium',
      PUBSUB_TOPIC_LOW: 't-low',
      PUBSUB_CREATE_TOPICS: 'yes',
      PUBSUB_VERIFY_TOPICS: 'false',
      PUBSUB_PUBLISH_TIMEOUT: '2s',
      PUBSUB_BATCH_MAX_DELAY_IMMEDIATE: '0',
      PUBSUB_BATCH_MAX_DELAY_HIGH: '2ms',
      PUBSUB_BATCH_MAX_DELAY_MEDIUM: '20ms',
      PUBSUB_BATCH_MAX_DELAY_LOW: '1s',
      PUBSUB_BATCH_MAX_MESSAGES: '500',
      PUBSUB_MAX_OUTSTANDING_MESSAGES: '200',
      PUBSUB_MAX_OUTSTANDING_BYTES: '64MiB',
      PUBSUB_EMULATOR_HOST: 'localhost:8085',
      CLOUD_TASKS_PROJECT: 'tasks-proj',
      CLOUD_TASKS_LOCATION: 'europe-west1',
      CLOUD_TASKS_QUEUE: 'jack',
      CLOUD_TASKS_SERVICE_ACCOUNT: 'jack@proj.iam.gserviceaccount.com',
      CLOUD_TASKS_ENDPOINT: 'localhost:9090',
      PUBSUB_REST_ENDPOINT: 'http://localhost:8085/',
      SCHEDULE_THRESHOLD: '5m',
      HEALTH_CHECK_INTERVAL: '1m30s',
      GCS_BUCKET: 'bucket',
      GCS_PREFIX: 'jack/config',
      GCS_ENDPOINT: 'http://localhost:4443',
      CONFIG_REFRESH_INTERVAL: '45s',
      SHUTDOWN_GRACE_PERIOD: '0',
      LOG_LEVEL: 'debug',
      METRICS_PORT: '9464',
      VALIDATION_MODE: 'enforce',
      RATE_LIMIT_MODE: 'enforce',
      DEFAULT_RATE_LIMIT_RPS: '250',
      REDIS_URL: 'redis://cache:6379',
      IDEMPOTENCY_TTL: '1h30m',
      IDEMPOTENCY_MAX_KEYS: '500',
    });
    expect(config).toEqual({
      grpcHost: '127.0.0.1',
      grpcPort: 6000,
      grpcMaxReceiveBytes: 32 * 1024 * 1024,
      http2: DEFAULTS.http2,
      maxHealthWatchesPerConnection: DEFAULTS.maxHealthWatchesPerConnection,
      maxWatchesPerConnection: DEFAULTS.maxWatchesPerConnection,
      tls: { certFile: 'cert.pem', keyFile: 'key.pem', reloadIntervalMs: 60_000 },
      maxPayloadBytes: 2 * 1024 * 1024,
      maxBulkJobs: 50,
      legacyPayloadQueueRouting: true,
      messageFormat: 'legacy',
      backend: {
        kind: 'pubsub',
        project: 'proj',
        topics: { immediate: 't-immediate', high: 't-high', medium: 't-medium', low: 't-low' },
        createTopics: true,
        verifyTopics: false,
        publishTimeoutMs: 2000,
        batchMaxDelayMs: { immediate: 0, high: 2, medium: 20, low: 1000 },
        batchMaxMessages: 500,
        maxOutstandingMessages: 200,
        maxOutstandingBytes: 64 * 1024 * 1024,
        emulatorHost: 'localhost:8085',
      },
      scheduler: {
        kind: 'cloud-tasks',
        project: 'tasks-proj',
        location: 'europe-west1',
        queue: 'jack',
        serviceAccount: 'jack@proj.iam.gserviceaccount.com',
        pubsubRestEndpoint: 'http://localhost:8085',
        apiEndpoint: 'localhost:9090',
      },
      scheduleThresholdMs: 300_000,
      healthCheckIntervalMs: 90_000,
      store: {
        kind: 'gcs',
        bucket: 'bucket',
        prefix: 'jack/config/',
        apiEndpoint: 'http://localhost:4443',
      },
      configRefreshIntervalMs: 45_000,
      shutdownGraceMs: 0,
      logLevel: 'debug',
      metricsPort: 9464,
      auth: {
        mode: 'off',
        bootstrapAdminKey: undefined,
        adminPrincipals: [],
        workerPrincipals: [],
        oidc: undefined,
        clientCaFile: undefined,
      },
      admission: {
        validationMode: 'enforce',
        rateLimitMode: 'enforce',
        defaultRateLimitRps: 250,
        redisUrl: 'redis://cache:6379',
        redisCaFile: undefined,
      },
      idempotency: { ttlMs: 5_400_000, maxKeys: 500 },
      ledger: {
        kind: 'memory',
        databaseUrl: undefined,
        writeTimeoutMs: 1_000,
        bufferSize: 10_000,
        maxJobs: 100_000,
        retentionMs: 7 * 86_400_000,
      },
    });
  });

  it('parses the HTTP/2 limits and the Watch bound (SPEC §6)', () => {
    const config = loadConfig({
      GRPC_MAX_CONCURRENT_STREAMS: '10',
      GRPC_MAX_CONNECTION_IDLE: '1m',
      GRPC_MAX_CONNECTION_AGE: '1h',
      GRPC_MAX_CONNECTION_AGE_GRACE: '0',
      GRPC_KEEPALIVE_TIME: '30s',
      GRPC_KEEPALIVE_TIMEOUT: '5s',
      GRPC_MAX_SESSION_MEMORY_MIB: '64',
      GRPC_MAX_CONNECTIONS: '500',
      GRPC_HANDSHAKE_TIMEOUT: '2s',
      GRPC_MAX_HEALTH_WATCHES_PER_CONNECTION: '4',
    });
    expect(config.http2).toEqual({
      maxConcurrentStreams: 10,
      maxConnectionIdleMs: 60_000,
      maxConnectionAgeMs: 3_600_000,
      maxConnectionAgeGraceMs: 0,
      keepaliveTimeMs: 30_000,
      keepaliveTimeoutMs: 5_000,
      maxSessionMemoryMiB: 64,
      maxConnections: 500,
      handshakeTimeoutMs: 2_000,
    });
    expect(config.maxHealthWatchesPerConnection).toBe(4);
    expect(
      configError({ GRPC_MAX_CONCURRENT_STREAMS: '0', GRPC_KEEPALIVE_TIME: '0' }).problems,
    ).toEqual([
      'GRPC_MAX_CONCURRENT_STREAMS="0" is not a positive integer',
      'GRPC_KEEPALIVE_TIME="0" is not a positive duration (e.g. 500ms, 10s, 1m)',
    ]);
  });

  it('parses NATS: servers without credentials, credentials apart, defaults (SPEC §17)', () => {
    const config = loadConfig({
      QUEUE_BACKEND: 'nats',
      NATS_URL: 'tls://jack:p%40ss@n1.example:4443, tls://n2.example',
    });
    expect(config.backend).toEqual({
      kind: 'nats',
      servers: ['n1.example:4443', 'n2.example:4222'],
      tls: true,
      user: 'jack',
      pass: expect.any(Secret),
      token: undefined,
      credsFile: undefined,
      stream: 'JACK',
      subjectPrefix: 'jack',
      createStream: false,
      streamReplicas: 1,
      duplicateWindowMs: 120_000,
      publishTimeoutMs: 5_000,
      maxPendingMessages: 10_000,
      maxPendingBytes: 256 * 1024 * 1024,
    });
    if (config.backend.kind !== 'nats') throw new Error('not nats');
    expect(config.backend.pass?.reveal()).toBe('p@ss');
    expect(JSON.stringify(config.backend)).not.toContain('p@ss');
  });

  it('defaults the Pub/Sub tunables and leaves unset priority topics out', () => {
    const config = loadConfig(PUBSUB);
    expect(config.backend).toEqual({
      kind: 'pubsub',
      project: 'proj',
      topics: { medium: 'jobs-medium' },
      createTopics: false,
      verifyTopics: true,
      publishTimeoutMs: DEFAULTS.pubsubPublishTimeoutMs,
      batchMaxDelayMs: DEFAULTS.pubsubBatchMaxDelayMs,
      batchMaxMessages: DEFAULTS.pubsubBatchMaxMessages,
      maxOutstandingMessages: DEFAULTS.pubsubMaxOutstandingMessages,
      maxOutstandingBytes: DEFAULTS.pubsubMaxOutstandingBytes,
      emulatorHost: undefined,
    });
  });

  it.each([
    { env: { CONFIG_DIR: './data' }, store: { kind: 'local', dir: './data' } },
    {
      env: { GCS_BUCKET: 'b' },
      store: { kind: 'gcs', bucket: 'b', prefix: '', apiEndpoint: undefined },
    },
    {
      env: { GCS_BUCKET: 'b', GCS_PREFIX: 'x/' },
      store: { kind: 'gcs', bucket: 'b', prefix: 'x/', apiEndpoint: undefined },
    },
  ])('chooses the store from $env', ({ env, store }) => {
    expect(loadConfig(env).store).toEqual(store);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['off', false],
    ['No', false],
    // Every form of Go's strconv.ParseBool (SPEC §12).
    ...['1', 't', 'T', 'TRUE', 'true', 'True'].map((v) => [v, true] as [string, boolean]),
    ...['0', 'f', 'F', 'FALSE', 'false', 'False'].map((v) => [v, false] as [string, boolean]),
  ])('reads the boolean %j as %j', (value, expected) => {
    expect(loadConfig({ LEGACY_PAYLOAD_QUEUE_ROUTING: value }).legacyPayloadQueueRouting).toBe(
      expected,
    );
  });

  it('accepts a payload limit of exactly 10 MB when the request limit leaves room', () => {
    expect(loadConfig({ MAX_PAYLOAD_BYTES: '10MB' }).maxPayloadBytes).toBe(10_000_000);
  });

  it('refuses an idempotency TTL or key bound that is not positive, naming the variable', () => {
    expect(configError({ IDEMPOTENCY_TTL: '0' }).message).toBe(
      'invalid configuration: IDEMPOTENCY_TTL="0" is not a positive duration (e.g. 500ms, 10s, 1m)',
    );
    expect(configError({ IDEMPOTENCY_MAX_KEYS: '-1' }).message).toBe(
      'invalid configuration: IDEMPOTENCY_MAX_KEYS="-1" is not a positive integer',
    );
  });

  it('refuses a REDIS_URL that is not redis:// or rediss://, without quoting it', () => {
    expect(configError({ REDIS_URL: 'http://user:secret@host' }).message).toBe(
      'invalid configuration: REDIS_URL is not a redis:// or rediss:// URL (redis[s]://[user:password@]host[:port][/db])',
    );
    expect(loadConfig({ REDIS_URL: 'rediss://h:6380' }).admission.redisUrl).toBe('rediss://h:6380');
  });

  it('collects every problem into one line', () => {
    const err = configError({
      GRPC_PORT: 'abc',
      QUEUE_BACKEND: 'kafka',
      SCHEDULE_THRESHOLD: 'later',
      TLS_CERT_FILE: 'cert.pem',
    });
    expect(err.problems).toEqual([
      'GRPC_PORT="abc" is not a port number (0-65535)',
      'TLS_CERT_FILE and TLS_KEY_FILE must be set together (both or neither)',
      'QUEUE_BACKEND="kafka" is not one of noop|pubsub|nats',
      'SCHEDULE_THRESHOLD="later" is not a duration (e.g. 500ms, 10s, 1m)',
    ]);
    expect(err.message).toBe(`invalid configuration: ${err.problems.join('; ')}`);
    expect(err.message).not.toContain('\n');
  });
});
