/** The job ledger section (SPEC §14): where records are kept, and how long calls wait for it. */
import { Secret } from './auth.js';
import { DEFAULTS } from './defaults.js';
import { type Env, nonEmpty, type Parser, parseDurationMs } from './parser.js';

export interface LedgerConfig {
  /**
   * JOB_LEDGER: `memory` (default; per replica, lost at exit), `postgres`
   * (shared; implied by LEDGER_DATABASE_URL alone) or `off`.
   */
  kind: 'memory' | 'postgres' | 'off';
  /** LEDGER_DATABASE_URL, set exactly when kind is `postgres`. Never logged. */
  databaseUrl: Secret | undefined;
  /** LEDGER_WRITE_TIMEOUT: the longest an enqueue waits for its record, ms. */
  writeTimeoutMs: number;
  /** LEDGER_BUFFER: records waiting for an unreachable ledger, at most. */
  bufferSize: number;
  /** LEDGER_MAX_JOBS: records the memory ledger keeps (oldest dropped first). */
  maxJobs: number;
  /** LEDGER_RETENTION: records are deleted this long after their last change, ms. */
  retentionMs: number;
}

const DAY_MS = 86_400_000;

/** A Go duration, or whole days (`7d`), the unit retention is usually thought in. */
export function parseRetentionMs(text: string): number | undefined {
  const days = /^(\d+)d$/.exec(text.trim());
  const ms = days === null ? parseDurationMs(text) : Number(days[1]) * DAY_MS;
  return ms !== undefined && Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** postgres:// or postgresql:// with a host part; the value is never quoted (it holds a password). */
function isPostgresUrl(text: string): boolean {
  if (!/^postgres(ql)?:\/\//.test(text)) return false;
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

export function parseLedger(p: Parser, env: Env, problems: string[]): LedgerConfig {
  const chosen = p.oneOf('JOB_LEDGER', ['memory', 'postgres', 'off'] as const);
  // Read by hand: the Parser's messages quote the value, and this one holds a password.
  const url = nonEmpty(env.LEDGER_DATABASE_URL) ? env.LEDGER_DATABASE_URL.trim() : undefined;
  const kind = chosen ?? (url === undefined ? DEFAULTS.jobLedger : 'postgres');
  let databaseUrl: Secret | undefined;
  if (kind === 'postgres') {
    if (url === undefined) {
      problems.push('JOB_LEDGER=postgres needs LEDGER_DATABASE_URL (a postgres:// URL)');
    } else if (!isPostgresUrl(url)) {
      problems.push(
        'LEDGER_DATABASE_URL is not a postgres:// or postgresql:// URL (value not shown)',
      );
    } else {
      databaseUrl = new Secret(url);
    }
  } else if (url !== undefined) {
    problems.push(
      `LEDGER_DATABASE_URL is set but JOB_LEDGER=${kind}: set JOB_LEDGER=postgres, or unset LEDGER_DATABASE_URL`,
    );
  }
  const retentionRaw = p.string('LEDGER_RETENTION');
  let retentionMs: number = DEFAULTS.ledgerRetentionMs;
  if (retentionRaw !== undefined) {
    const parsed = parseRetentionMs(retentionRaw);
    if (parsed === undefined) {
      problems.push(
        `LEDGER_RETENTION=${JSON.stringify(retentionRaw)} is not a positive duration (e.g. 7d, 72h, 30m)`,
      );
    } else retentionMs = parsed;
  }
  return {
    kind,
    databaseUrl,
    writeTimeoutMs: p.positiveDuration('LEDGER_WRITE_TIMEOUT') ?? DEFAULTS.ledgerWriteTimeoutMs,
    bufferSize: p.positiveInt('LEDGER_BUFFER') ?? DEFAULTS.ledgerBuffer,
    maxJobs: p.positiveInt('LEDGER_MAX_JOBS') ?? DEFAULTS.ledgerMaxJobs,
    retentionMs,
  };
}
