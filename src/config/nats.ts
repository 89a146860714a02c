/** The NATS JetStream backend section (SPEC §17): servers, credentials, stream, subjects. */
import { Secret } from './auth.js';
import { DEFAULTS } from './defaults.js';
import type { Parser } from './parser.js';

export interface NatsBackendConfig {
  kind: 'nats';
  /** host:port of each server, credentials removed (safe to log). */
  servers: string[];
  /** True when any NATS_URL entry is tls://: the client then requires TLS. */
  tls: boolean;
  /** From user:password@ in NATS_URL (the first entry that has them). */
  user: string | undefined;
  /** Secrets: the startup line that writes the whole configuration shows `[redacted]`. */
  pass: Secret | undefined;
  token: Secret | undefined;
  credsFile: string | undefined;
  stream: string;
  subjectPrefix: string;
  createStream: boolean;
  streamReplicas: number;
  duplicateWindowMs: number;
  publishTimeoutMs: number;
  maxPendingMessages: number;
  maxPendingBytes: number;
}

/**
 * The credential part of a NATS client's connect options (TLS, user and
 * password, or token), secrets revealed only here, for the connection
 * itself: one rule for Jack's backend and for `jack work`. A creds file's
 * authenticator is added by the caller (it needs the nats library).
 */
export function natsCredentialOptions(config: NatsBackendConfig): {
  tls?: Record<string, never>;
  user?: string;
  pass?: string;
  token?: string;
} {
  return {
    ...(config.tls ? { tls: {} } : {}),
    ...(config.user === undefined ? {} : { user: config.user, pass: config.pass?.reveal() ?? '' }),
    ...(config.token === undefined ? {} : { token: config.token.reveal() }),
  };
}

/** Names JetStream accepts for a stream: no whitespace, `.`, `*`, `>`, path separators. */
const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** One or more subject tokens without wildcards. */
const SUBJECT_PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Parses NATS_* (when QUEUE_BACKEND=nats). A problem never repeats NATS_URL's
 * text, which may hold a password: it names the entry by its position.
 */
export function parseNats(p: Parser): NatsBackendConfig {
  const raw = p.string('NATS_URL');
  const servers: string[] = [];
  let tls = false;
  let user: string | undefined;
  let pass: Secret | undefined;
  if (raw === undefined) p.problem('NATS_URL is required when QUEUE_BACKEND=nats');
  else {
    raw.split(',').forEach((entry, index) => {
      const where = `NATS_URL entry ${index + 1}`;
      let url: URL | undefined;
      try {
        url = new URL(entry.trim());
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== 'nats:' && url.protocol !== 'tls:')) {
        p.problem(`${where} is not a nats://host:port or tls://host:port URL`);
        return;
      }
      if (url.hostname === '' || (url.pathname !== '' && url.pathname !== '/') || url.search) {
        p.problem(`${where} must be scheme://[user:password@]host[:port] with no path or query`);
        return;
      }
      tls ||= url.protocol === 'tls:';
      if (url.username !== '' && user === undefined) {
        user = decodeURIComponent(url.username);
        pass = new Secret(decodeURIComponent(url.password));
      }
      servers.push(`${url.hostname}:${url.port === '' ? '4222' : url.port}`);
    });
  }
  const tokenText = p.string('NATS_TOKEN');
  const token = tokenText === undefined ? undefined : new Secret(tokenText);
  const credsFile = p.string('NATS_CREDS_FILE');
  const kinds = [user !== undefined, token !== undefined, credsFile !== undefined].filter(Boolean);
  if (kinds.length > 1) {
    p.problem(
      'NATS credentials: set only one of user:password in NATS_URL, NATS_TOKEN, NATS_CREDS_FILE',
    );
  }
  const stream = p.string('NATS_STREAM') ?? DEFAULTS.natsStream;
  if (!STREAM_NAME.test(stream)) {
    p.problem(
      `NATS_STREAM=${JSON.stringify(stream)} is not a stream name (letters, digits, _ and -, at most 64)`,
    );
  }
  const subjectPrefix = p.string('NATS_SUBJECT_PREFIX') ?? DEFAULTS.natsSubjectPrefix;
  if (!SUBJECT_PREFIX.test(subjectPrefix)) {
    p.problem(
      `NATS_SUBJECT_PREFIX=${JSON.stringify(subjectPrefix)} is not a subject prefix (dot-separated tokens of letters, digits, _ and -)`,
    );
  }
  return {
    kind: 'nats',
    servers,
    tls,
    user,
    pass,
    token,
    credsFile,
    stream,
    subjectPrefix,
    createStream: p.bool('NATS_CREATE_STREAM') ?? false,
    streamReplicas: p.positiveInt('NATS_STREAM_REPLICAS') ?? 1,
    duplicateWindowMs:
      p.positiveDuration('NATS_DUPLICATE_WINDOW') ?? DEFAULTS.natsDuplicateWindowMs,
    publishTimeoutMs: p.positiveDuration('NATS_PUBLISH_TIMEOUT') ?? DEFAULTS.natsPublishTimeoutMs,
    maxPendingMessages:
      p.positiveInt('NATS_MAX_PENDING_MESSAGES') ?? DEFAULTS.natsMaxPendingMessages,
    maxPendingBytes: p.size('NATS_MAX_PENDING_BYTES') ?? DEFAULTS.natsMaxPendingBytes,
  };
}

/** NATS_* variables that make no sense unless QUEUE_BACKEND=nats. */
export const NATS_ONLY_VARIABLES = [
  'NATS_URL',
  'NATS_STREAM',
  'NATS_SUBJECT_PREFIX',
  'NATS_CREDS_FILE',
  'NATS_TOKEN',
];
