/**
 * Process entry: read the environment, start the app, turn signals into a
 * graceful shutdown. The only module with process-level side effects.
 */
import { format } from 'node:util';
import { setLogger } from '@grpc/grpc-js';
import { type App, startApp } from './app.js';
import { ConfigError, loadConfig } from './config/index.js';
import { JackError, toError } from './errors.js';
import { createLogger } from './logger.js';
import { redactDeep, redactSecrets } from './redact.js';
import { isGcsLibraryStreamFault } from './storage/gcs-library-fault.js';

/** Exit code of a process stopped by bad configuration or a failed startup. */
const EXIT_STARTUP_FAILED = 1;

function fail(reason: string): never {
  // One line on stderr, so the reason is the first thing an operator sees.
  process.stderr.write(`jack: ${redactSecrets(reason.replace(/\s*\n\s*/g, ' '))}\n`);
  process.exit(EXIT_STARTUP_FAILED);
}

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    fail(err instanceof ConfigError ? err.message : toError(err).message);
  }
  const logger = createLogger({ level: config.logLevel });
  // grpc-js writes its own errors to stderr (e.g. a second line for a port in
  // use); route them into the JSON log so stderr keeps the one-line reason.
  setLogger({
    error: (...args: unknown[]) => logger.warn({ component: 'grpc-js' }, format(...args)),
    info: (...args: unknown[]) => logger.info({ component: 'grpc-js' }, format(...args)),
    debug: (...args: unknown[]) => logger.debug({ component: 'grpc-js' }, format(...args)),
  });
  // The logger masks URL credentials in every line; redactDeep states it here
  // too, where the whole configuration is written out.
  logger.info({ config: redactDeep(config) }, 'starting jack');
  // One known library fault is logged, not fatal (see gcs-library-fault.ts);
  // any other unhandled rejection still ends the process, as Node's default,
  // but with the stack in the log and one line on stderr (SPEC §5).
  process.on('unhandledRejection', (reason) => {
    if (!isGcsLibraryStreamFault(reason)) {
      logger.fatal({ err: toError(reason) }, 'unhandled rejection');
      fail(`unexpected failure (a bug of Jack's: please report it): ${toError(reason).message}`);
    }
    logger.warn(
      { component: 'gcs', reason: toError(reason).message },
      'ignored a known fault of the GCS client after a failed request (teeny-request piped into a closed stream)',
    );
  });

  let app: App;
  try {
    app = await startApp(config, logger);
  } catch (err) {
    // An expected failure (JackError: a port in use, an unreadable file) is
    // one line without a stack; the cause's own text stays in the log.
    if (err instanceof JackError) {
      const cause = err.cause instanceof Error ? err.cause.message : undefined;
      logger.fatal({ reason: err.message, cause }, 'startup failed');
    } else logger.fatal({ err }, 'startup failed');
    // A JackError caused by a JackError: the outer message is the one a
    // client may see, the inner one the operator's detail (a path, a bucket).
    const detail = err instanceof JackError && err.cause instanceof JackError;
    fail(
      `startup failed: ${toError(err).message}${detail ? `: ${(err.cause as Error).message}` : ''}`,
    );
  }
  // The console's address as a browser opens it: a wildcard host means this machine.
  const browserHost = ['0.0.0.0', '::', ''].includes(config.grpcHost)
    ? 'localhost'
    : config.grpcHost.includes(':')
      ? `[${config.grpcHost}]`
      : config.grpcHost;
  const consoleUrl =
    app.httpPort === undefined
      ? undefined
      : `${config.tls === undefined ? 'http' : 'https'}://${browserHost}:${app.httpPort}/`;
  logger.info(
    {
      address: `${config.grpcHost}:${app.port}`,
      consoleUrl,
      tls: config.tls !== undefined,
      store: `${app.store.kind} (${app.store.location})`,
      backend: app.backend.kind,
      metricsPort: app.metricsPort,
      httpAddress: app.httpPort === undefined ? undefined : `${config.grpcHost}:${app.httpPort}`,
    },
    app.httpPort === undefined
      ? `jack listening on ${config.grpcHost}:${app.port}`
      : `jack listening on ${config.grpcHost}:${app.port} (gRPC) and ${config.grpcHost}:${app.httpPort} (HTTP: Connect, gRPC-Web, /healthz); console at ${consoleUrl}`,
  );

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      // Not process.exit(): at exit libuv joins its thread pool, so a disk
      // or DNS call stuck in a pool thread would hang the forced exit too.
      process.kill(process.pid, 'SIGKILL');
    }
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    app.shutdown().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => fail(toError(err).message));
