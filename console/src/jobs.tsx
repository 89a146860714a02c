/** Jobs (SPEC §14): a filtered list, an enqueue form, and a job's live timeline through WatchJob. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { call, stream } from './rpc.ts';
import { ErrorBox, Pager, queueName, Section, useLatestLoad, when } from './ui.tsx';

export interface Job {
  jobId: string;
  producerId?: string;
  jobType?: string;
  queue?: string;
  state?: string;
  createdAt?: string;
  runAt?: string;
  updatedAt?: string;
  attempts?: number;
  maxRetries?: number;
  lastError?: string;
  worker?: string;
  startedAt?: string;
  finishedAt?: string;
  messageId?: string;
  payloadBytes?: number;
}

const STATES = ['SCHEDULED', 'QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'DEAD', 'CANCELLED'];
const TERMINAL = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_DEAD', 'JOB_STATE_CANCELLED']);
export const stateName = (s: string | undefined) =>
  (s ?? 'JOB_STATE_UNSPECIFIED').replace('JOB_STATE_', '').toLowerCase();
const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;
/** A datetime-local value as an RFC 3339 timestamp, or undefined. */
const timestamp = (local: string) => (local ? new Date(local).toISOString() : undefined);

function base64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function JobsPage() {
  const [filter, setFilter] = useState({
    producerId: '',
    jobType: '',
    state: '',
    after: '',
    before: '',
  });
  const [applied, setApplied] = useState(filter);
  const [tokens, setTokens] = useState<string[]>(['']);
  const [jobs, setJobs] = useState<Job[]>();
  const [next, setNext] = useState<string>();
  const [error, setError] = useState<unknown>();

  const begin = useLatestLoad();
  const load = useCallback(async () => {
    const isLatest = begin();
    setError(undefined);
    try {
      const r = await call<{ jobs?: Job[]; nextPageToken?: string }>('jack.Jobs/ListJobs', {
        producerId: applied.producerId,
        jobType: applied.jobType,
        states: applied.state ? [`JOB_STATE_${applied.state}`] : [],
        createdAfter: timestamp(applied.after),
        createdBefore: timestamp(applied.before),
        pageSize: 25,
        pageToken: tokens[tokens.length - 1],
      });
      if (!isLatest()) return;
      setJobs(r.jobs ?? []);
      setNext(r.nextPageToken);
    } catch (err) {
      if (!isLatest()) return;
      setJobs(undefined);
      setError(err);
    }
  }, [applied, tokens]);
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <>
      <h1>Jobs</h1>
      <EnqueueForm />
      <Section title="Find jobs">
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            setTokens(['']);
            setApplied({ ...filter });
          }}
        >
          <label>
            Producer id{' '}
            <input
              name="producerId"
              value={filter.producerId}
              onInput={(e) => setFilter({ ...filter, producerId: value(e) })}
            />
          </label>
          <label>
            Job type{' '}
            <input
              name="jobType"
              value={filter.jobType}
              onInput={(e) => setFilter({ ...filter, jobType: value(e) })}
            />
          </label>
          <label>
            State{' '}
            <select
              name="state"
              value={filter.state}
              onChange={(e) => setFilter({ ...filter, state: value(e) })}
            >
              <option value="">any</option>
              {STATES.map((s) => (
                <option key={s} value={s}>
                  {s.toLowerCase()}
                </option>
              ))}
            </select>
          </label>
          <label>
            Created after{' '}
            <input
              name="after"
              type="datetime-local"
              value={filter.after}
              onInput={(e) => setFilter({ ...filter, after: value(e) })}
            />
          </label>
          <label>
            Created before{' '}
            <input
              name="before"
              type="datetime-local"
              value={filter.before}
              onInput={(e) => setFilter({ ...filter, before: value(e) })}
            />
          </label>
          <button type="submit">Show jobs</button>
        </form>
        <ErrorBox error={error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Job id</th>
              <th scope="col">Producer</th>
              <th scope="col">Type</th>
              <th scope="col">Priority</th>
              <th scope="col">State</th>
              <th scope="col">Attempts</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {(jobs ?? []).map((j) => (
              <tr key={j.jobId}>
                <td>
                  <a href={`#/jobs/${encodeURIComponent(j.jobId)}`}>{j.jobId}</a>
                </td>
                <td>{j.producerId}</td>
                <td>{j.jobType}</td>
                <td>{queueName(j.queue)}</td>
                <td>
                  <span class={`state ${stateName(j.state)}`}>{stateName(j.state)}</span>
                </td>
                <td>{j.attempts ?? 0}</td>
                <td>{when(j.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {jobs?.length === 0 ? <p>No jobs match.</p> : null}
        <Pager tokens={tokens} next={next} onPage={setTokens} />
      </Section>
    </>
  );
}

function EnqueueForm() {
  const [draft, setDraft] = useState({ producerId: '', jobType: '', payload: '' });
  const [error, setError] = useState<unknown>();
  const [jobId, setJobId] = useState<string>();
  return (
    <Section title="Enqueue a job">
      <form
        class="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          setJobId(undefined);
          try {
            const r = await call<{ jobId: string }>('jack.BackgroundJobs/Enqueue', {
              producerId: draft.producerId,
              jobType: draft.jobType,
              payload: base64(draft.payload),
            });
            setJobId(r.jobId);
          } catch (err) {
            setError(err);
          }
        }}
      >
        <label>
          Producer id{' '}
          <input
            name="enqueueProducerId"
            value={draft.producerId}
            onInput={(e) => setDraft({ ...draft, producerId: value(e) })}
          />
        </label>
        <label>
          Job type{' '}
          <input
            name="enqueueJobType"
            value={draft.jobType}
            onInput={(e) => setDraft({ ...draft, jobType: value(e) })}
          />
        </label>
        <label>
          Payload (text){' '}
          <input
            name="payload"
            value={draft.payload}
            onInput={(e) => setDraft({ ...draft, payload: value(e) })}
          />
        </label>
        <button type="submit">Enqueue</button>
      </form>
      <ErrorBox error={error} />
      <p role="status">
        {jobId ? (
          <>
            Enqueued <a href={`#/jobs/${encodeURIComponent(jobId)}`}>{jobId}</a>.
          </>
        ) : null}
      </p>
    </Section>
  );
}

interface TimelineEntry {
  key: string;
  at: string | undefined;
  what: string;
  detail?: string;
}

/** What the record says happened, oldest first; one entry per state of each attempt. */
function timelineOf(updates: Job[]): TimelineEntry[] {
  const first = updates[0];
  if (first === undefined) return [];
  const entries: TimelineEntry[] = [{ key: 'enqueued', at: first.createdAt, what: 'Enqueued' }];
  if (first.runAt) entries.push({ key: 'scheduled', at: first.runAt, what: 'Scheduled to run' });
  const seen = new Set<string>();
  for (const u of updates) {
    const key = `${u.state}/${u.attempts ?? 0}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const state = stateName(u.state);
    if (state === 'queued' || state === 'scheduled') continue;
    const attempt = u.attempts ? `attempt ${u.attempts}` : '';
    const by = u.worker ? `by ${u.worker}` : '';
    entries.push({
      key,
      at: state === 'running' ? (u.startedAt ?? u.updatedAt) : (u.finishedAt ?? u.updatedAt),
      what:
        state === 'running'
          ? `Attempt ${u.attempts ?? 1} started`
          : TERMINAL.has(u.state ?? '')
            ? `Finished: ${state}`
            : `Attempt ${u.attempts ?? 1} ${state}`,
      detail: [
        attempt,
        by,
        u.lastError && (state === 'failed' || state === 'dead') ? `error: ${u.lastError}` : '',
      ]
        .filter((s) => s !== '')
        .join(' · '),
    });
  }
  return entries;
}

export function JobPage({ jobId }: { jobId: string }) {
  const [updates, setUpdates] = useState<Job[]>([]);
  const [status, setStatus] = useState<'watching' | 'ended'>('watching');
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    const abort = new AbortController();
    setUpdates([]);
    setStatus('watching');
    setError(undefined);
    stream<Job>(
      'jack.Jobs/WatchJob',
      { jobId },
      (job) => setUpdates((all) => [...all, job]),
      abort.signal,
    )
      .then(() => setStatus('ended'))
      .catch((err) => {
        setStatus('ended');
        setError(err);
      });
    return () => abort.abort();
  }, [jobId]);

  const job = updates[updates.length - 1];
  return (
    <>
      <h1>
        Job <code>{jobId}</code>
      </h1>
      <p>
        <a href="#/jobs">All jobs</a>
      </p>
      <ErrorBox error={error} />
      <p role="status" aria-live="polite">
        {job ? (
          <>
            State: <strong class={`state ${stateName(job.state)}`}>{stateName(job.state)}</strong>
            {status === 'watching' ? ' — updating live' : ' — final'}
          </>
        ) : status === 'watching' ? (
          'Loading…'
        ) : null}
      </p>
      {job ? (
        <>
          <Section title="Timeline">
            <ol class="timeline">
              {timelineOf(updates).map((e) => (
                <li key={e.key}>
                  <time>{when(e.at)}</time> <strong>{e.what}</strong>
                  {e.detail ? <span class="detail"> — {e.detail}</span> : null}
                </li>
              ))}
            </ol>
          </Section>
          <Section title="Record">
            <dl class="record">
              <dt>Producer</dt>
              <dd>{job.producerId}</dd>
              <dt>Job type</dt>
              <dd>{job.jobType}</dd>
              <dt>Priority</dt>
              <dd>{queueName(job.queue)}</dd>
              <dt>Attempts</dt>
              <dd>
                {job.attempts ?? 0} of {1 + (job.maxRetries ?? 0)}
              </dd>
              <dt>Last worker</dt>
              <dd>{job.worker || '—'}</dd>
              <dt>Last error</dt>
              <dd>{job.lastError || '—'}</dd>
              <dt>Backend message id</dt>
              <dd>{job.messageId || '—'}</dd>
              <dt>Payload</dt>
              <dd>{job.payloadBytes ?? 0} bytes</dd>
              <dt>Updated</dt>
              <dd>{when(job.updatedAt)}</dd>
            </dl>
          </Section>
        </>
      ) : null}
    </>
  );
}
