import { type DestinationStream, type Logger, pino } from 'pino';
import { redactSecrets } from './redact.js';
import { activeTraceFields } from './tracing/log-fields.js';

export interface LoggerOptions {
  level: string;
}

/**
 * pino JSON lines on stdout (or on `destination`, which tests use to read
 * the lines back). Every line passes `redactSecrets` on its way out, so a
 * URL credential is masked whichever field or error text carries it.
 */
export function createLogger(options: LoggerOptions, destination?: DestinationStream): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'jack' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: { streamWrite: redactSecrets },
      // Lines logged while a call is handled carry its trace (tracing on).
      mixin: activeTraceFields,
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
