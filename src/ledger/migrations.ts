/**
 * The PostgreSQL ledger's schema, as versioned migrations applied in order
 * at startup (./postgres.ts runs them under an advisory lock). A migration
 * is never edited once released: a change is a new entry at the end.
 *
 * SPEC §16: the ledger scheduler keeps the whole message of a SCHEDULED job
 * (payload and attributes) until it fires, in a side table keyed by job id
 * (migration 2) — in the same database, so scheduling, cancelling and firing
 * change the record and its message in one transaction. Every query here
 * names its columns, so an added table or column breaks nothing.
 */

export interface Migration {
  /** 1, 2, 3, … without gaps. */
  version: number;
  /** What it does, stored beside the version. */
  name: string;
  sql: string;
}

/** The table of records and the channel its changes are announced on. */
export const JOBS_TABLE = 'jack_jobs';
export const MIGRATIONS_TABLE = 'jack_ledger_migrations';
/** NOTIFY channel; the payload is the job id of a changed record. */
export const CHANGES_CHANNEL = 'jack_job_changes';
/** The messages of SCHEDULED jobs (SPEC §16), one row per job until it is published. */
export const SCHEDULED_TABLE = 'jack_scheduled_messages';
/** NOTIFY channel of the ledger scheduler; the payload is the run_at (epoch ms) of a job due soon. */
export const SCHEDULED_SOON_CHANNEL = 'jack_scheduled_soon';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'job records, newest-first and retention indexes, change notification',
    sql: `
CREATE TABLE ${JOBS_TABLE} (
  -- "C" collation: byte order, the order the memory store and page tokens use.
  job_id         text COLLATE "C" PRIMARY KEY,
  producer_id    text NOT NULL,
  job_type       text NOT NULL,
  queue          smallint NOT NULL,
  state          smallint NOT NULL,
  created_at     timestamptz NOT NULL,
  run_at         timestamptz,
  updated_at     timestamptz NOT NULL,
  attempts       integer NOT NULL DEFAULT 0,
  max_retries    integer NOT NULL DEFAULT 0,
  last_error     text NOT NULL DEFAULT '',
  worker         text NOT NULL DEFAULT '',
  trace_id       text NOT NULL DEFAULT '',
  correlation_id text NOT NULL DEFAULT '',
  shadow         boolean NOT NULL DEFAULT false,
  message_id     text NOT NULL DEFAULT '',
  started_at     timestamptz,
  finished_at    timestamptz,
  payload_bytes  integer NOT NULL DEFAULT 0
);
-- ListJobs pages newest first, with or without a producer (keyset pagination).
CREATE INDEX ${JOBS_TABLE}_newest ON ${JOBS_TABLE} (created_at DESC, job_id DESC);
CREATE INDEX ${JOBS_TABLE}_producer_newest
  ON ${JOBS_TABLE} (producer_id, created_at DESC, job_id DESC);
-- Retention deletes the records changed longest ago first.
CREATE INDEX ${JOBS_TABLE}_updated ON ${JOBS_TABLE} (updated_at);

-- Every insert and update announces the job id, whoever wrote it (every
-- replica's WatchJob hears of it within a moment).
CREATE FUNCTION ${JOBS_TABLE}_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('${CHANGES_CHANNEL}', NEW.job_id);
  RETURN NULL;
END
$$;
CREATE TRIGGER ${JOBS_TABLE}_changed AFTER INSERT OR UPDATE ON ${JOBS_TABLE}
  FOR EACH ROW EXECUTE FUNCTION ${JOBS_TABLE}_notify();
`,
  },
  {
    version: 2,
    name: 'messages of scheduled jobs (SCHEDULER=ledger), due-time index',
    sql: `
CREATE TABLE ${SCHEDULED_TABLE} (
  job_id     text COLLATE "C" PRIMARY KEY
             REFERENCES ${JOBS_TABLE} (job_id) ON DELETE CASCADE,
  run_at     timestamptz NOT NULL,
  -- immediate | high | medium | low: the topic the message goes to.
  priority   text NOT NULL,
  -- Exactly what the backend publishes: data bytes and attributes.
  data       bytea NOT NULL,
  attributes jsonb NOT NULL
);
-- Every replica asks for the earliest due messages.
CREATE INDEX ${SCHEDULED_TABLE}_due ON ${SCHEDULED_TABLE} (run_at);
`,
  },
  {
    version: 3,
    name: 'announce changed records only, not new ones',
    // Nobody can be watching a record that did not exist (WatchJob answers
    // NOT_FOUND for an unknown job), so a new row's NOTIFY only cost: one
    // per Enqueue, and every NOTIFY takes PostgreSQL's commit-time queue
    // lock, one committing transaction at a time. A filled-in record (the
    // enqueue facts of a job a report created first) is an UPDATE: still
    // announced.
    sql: `
DROP TRIGGER ${JOBS_TABLE}_changed ON ${JOBS_TABLE};
CREATE TRIGGER ${JOBS_TABLE}_changed AFTER UPDATE ON ${JOBS_TABLE}
  FOR EACH ROW EXECUTE FUNCTION ${JOBS_TABLE}_notify();
`,
  },
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;
