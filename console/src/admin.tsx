/** Producers, job types and API keys (SPEC §10): list by page, create, edit by field mask, delete. */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { call } from './rpc.ts';
import {
  ConfirmButton,
  ErrorBox,
  Pager,
  QUEUES,
  queueName,
  Section,
  useLatestLoad,
  when,
} from './ui.tsx';

const PAGE_SIZE = 20;

interface Producer {
  producerId: string;
  name?: string;
  description?: string;
  rateLimitRps?: number;
  principals?: string[];
  createdAt?: string;
  updatedAt?: string;
}
interface JobType {
  producerId: string;
  name: string;
  queue?: string;
  maxRetries?: number;
  description?: string;
  createdAt?: string;
}
interface ApiKey {
  keyId: string;
  producerId?: string;
  description?: string;
  createdAt?: string;
  role?: string;
}

const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;

/** Every producer (up to 1000) for the pickers. */
function useAllProducers(): Producer[] {
  const [producers, setProducers] = useState<Producer[]>([]);
  useEffect(() => {
    call<{ producers?: Producer[] }>('jack.AdminService/ListProducers', { pageSize: 1000 })
      .then((r) => setProducers(r.producers ?? []))
      .catch(() => setProducers([]));
  }, []);
  return producers;
}

/** Field paths (camelCase, as proto3 JSON writes a FieldMask) whose value changed. */
function changedPaths<T extends object>(
  before: T,
  after: T,
  paths: (keyof T & string)[],
): string[] {
  return paths.filter((p) => JSON.stringify(before[p] ?? '') !== JSON.stringify(after[p] ?? ''));
}

export function ProducersPage() {
  const [tokens, setTokens] = useState<string[]>(['']);
  const [producers, setProducers] = useState<Producer[]>();
  const [next, setNext] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState('');
  const [editing, setEditing] = useState<string>();

  const begin = useLatestLoad();
  const load = useCallback(async () => {
    const isLatest = begin();
    try {
      const r = await call<{ producers?: Producer[]; nextPageToken?: string }>(
        'jack.AdminService/ListProducers',
        { pageSize: PAGE_SIZE, pageToken: tokens[tokens.length - 1] },
      );
      if (!isLatest()) return;
      setProducers(r.producers ?? []);
      setNext(r.nextPageToken);
    } catch (err) {
      if (!isLatest()) return;
      setError(err);
    }
  }, [tokens]);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (what: () => Promise<string>) => {
    setError(undefined);
    setNotice('');
    try {
      setNotice(await what());
      await load();
    } catch (err) {
      setError(err);
    }
  };

  const [draft, setDraft] = useState({ name: '', description: '' });
  return (
    <>
      <h1>Producers</h1>
      <ErrorBox error={error} />
      <p role="status" class="notice">
        {notice}
      </p>
      <Section title="New producer">
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const r = await call<{ producer: Producer }>(
                'jack.AdminService/CreateProducer',
                draft,
              );
              setDraft({ name: '', description: '' });
              return `Created producer ${r.producer.name} (${r.producer.producerId}).`;
            });
          }}
        >
          <label>
            Name{' '}
            <input
              name="name"
              value={draft.name}
              onInput={(e) => setDraft({ ...draft, name: value(e) })}
            />
          </label>
          <label>
            Description{' '}
            <input
              name="description"
              value={draft.description}
              onInput={(e) => setDraft({ ...draft, description: value(e) })}
            />
          </label>
          <button type="submit">Create producer</button>
        </form>
      </Section>
      <Section title="All producers">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Id</th>
              <th scope="col">Description</th>
              <th scope="col">Rate limit (jobs/s)</th>
              <th scope="col">Principals</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(producers ?? []).map((p) =>
              editing === p.producerId ? (
                <tr key={p.producerId}>
                  <td colSpan={7}>
                    <ProducerEditor
                      producer={p}
                      onDone={(saved) => {
                        setEditing(undefined);
                        if (saved) void act(saved);
                      }}
                    />
                  </td>
                </tr>
              ) : (
                <tr key={p.producerId}>
                  <td>{p.name}</td>
                  <td>
                    <code>{p.producerId}</code>
                  </td>
                  <td>{p.description}</td>
                  <td>{p.rateLimitRps ? p.rateLimitRps : 'unlimited'}</td>
                  <td>{(p.principals ?? []).join(', ')}</td>
                  <td>{when(p.createdAt)}</td>
                  <td class="actions">
                    <button
                      type="button"
                      aria-label={`Edit ${p.name}`}
                      onClick={() => setEditing(p.producerId)}
                    >
                      Edit
                    </button>{' '}
                    <ConfirmButton
                      label="Delete"
                      question={`Delete producer ${p.name} with its job types and keys?`}
                      onConfirm={() =>
                        act(async () => {
                          await call('jack.AdminService/DeleteProducer', {
                            producerId: p.producerId,
                          });
                          return `Deleted producer ${p.name}.`;
                        })
                      }
                    />
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
        {producers?.length === 0 ? <p>No producers yet.</p> : null}
        <Pager tokens={tokens} next={next} onPage={setTokens} />
      </Section>
    </>
  );
}

function ProducerEditor(props: {
  producer: Producer;
  onDone: (save?: () => Promise<string>) => void;
}) {
  const p = props.producer;
  const [draft, setDraft] = useState({
    name: p.name ?? '',
    description: p.description ?? '',
    rateLimitRps: String(p.rateLimitRps ?? 0),
    principals: (p.principals ?? []).join(', '),
  });
  return (
    <form
      class="inline"
      aria-label={`Edit producer ${p.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        const after: Producer = {
          producerId: p.producerId,
          name: draft.name,
          description: draft.description,
          rateLimitRps: Number.parseInt(draft.rateLimitRps, 10) || 0,
          principals: draft.principals
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
        };
        const before = { ...p, rateLimitRps: p.rateLimitRps ?? 0, principals: p.principals ?? [] };
        const paths = changedPaths(before, after, [
          'name',
          'description',
          'rateLimitRps',
          'principals',
        ]);
        if (paths.length === 0) {
          props.onDone();
          return;
        }
        props.onDone(async () => {
          await call('jack.AdminService/UpdateProducer', {
            producer: after,
            updateMask: paths.join(','),
          });
          return `Saved producer ${after.name} (${paths.join(', ')}).`;
        });
      }}
    >
      <label>
        Name{' '}
        <input
          name="name"
          value={draft.name}
          onInput={(e) => setDraft({ ...draft, name: value(e) })}
        />
      </label>
      <label>
        Description{' '}
        <input
          name="description"
          value={draft.description}
          onInput={(e) => setDraft({ ...draft, description: value(e) })}
        />
      </label>
      <label>
        Rate limit (jobs/s, 0 = unlimited){' '}
        <input
          name="rateLimitRps"
          type="number"
          min="0"
          value={draft.rateLimitRps}
          onInput={(e) => setDraft({ ...draft, rateLimitRps: value(e) })}
        />
      </label>
      <label>
        Principals (comma separated){' '}
        <input
          name="principals"
          value={draft.principals}
          onInput={(e) => setDraft({ ...draft, principals: value(e) })}
        />
      </label>
      <button type="submit">Save</button>{' '}
      <button type="button" onClick={() => props.onDone()}>
        Cancel
      </button>
    </form>
  );
}

function ProducerSelect(props: {
  producers: Producer[];
  value: string;
  onChange: (id: string) => void;
  label: string;
  allowNone?: string;
}) {
  return (
    <label>
      {props.label}{' '}
      <select
        name="producer"
        value={props.value}
        onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}
      >
        {props.allowNone !== undefined ? <option value="">{props.allowNone}</option> : null}
        {props.allowNone === undefined && props.value === '' ? (
          <option value="">Choose a producer</option>
        ) : null}
        {props.producers.map((p) => (
          <option key={p.producerId} value={p.producerId}>
            {p.name} ({p.producerId})
          </option>
        ))}
      </select>
    </label>
  );
}

export function JobTypesPage() {
  const producers = useAllProducers();
  const [producerId, setProducerId] = useState('');
  const [tokens, setTokens] = useState<string[]>(['']);
  const [jobTypes, setJobTypes] = useState<JobType[]>();
  const [next, setNext] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState('');
  const [editing, setEditing] = useState<string>();
  const [draft, setDraft] = useState({
    name: '',
    queue: 'QUEUE_MEDIUM',
    maxRetries: '3',
    description: '',
  });

  // The first producer until one is picked; a pick made before this effect
  // ran (effects run after paint) wins.
  useEffect(() => {
    const first = producers[0]?.producerId;
    if (first !== undefined) setProducerId((picked) => (picked === '' ? first : picked));
  }, [producers]);

  const begin = useLatestLoad();
  const load = useCallback(async () => {
    const isLatest = begin();
    if (producerId === '') return;
    try {
      const r = await call<{ jobTypes?: JobType[]; nextPageToken?: string }>(
        'jack.AdminService/ListJobTypes',
        { producerId, pageSize: PAGE_SIZE, pageToken: tokens[tokens.length - 1] },
      );
      if (!isLatest()) return;
      setJobTypes(r.jobTypes ?? []);
      setNext(r.nextPageToken);
    } catch (err) {
      if (!isLatest()) return;
      setError(err);
    }
  }, [producerId, tokens]);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (what: () => Promise<string>) => {
    setError(undefined);
    setNotice('');
    try {
      setNotice(await what());
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <h1>Job types</h1>
      <ErrorBox error={error} />
      <p role="status" class="notice">
        {notice}
      </p>
      <ProducerSelect
        producers={producers}
        value={producerId}
        label="Producer"
        onChange={(id) => {
          setProducerId(id);
          setTokens(['']);
        }}
      />
      <Section title="New job type">
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              await call('jack.AdminService/CreateJobType', {
                producerId,
                name: draft.name,
                queue: draft.queue,
                maxRetries: Number.parseInt(draft.maxRetries, 10) || 0,
                description: draft.description,
              });
              setDraft({ ...draft, name: '', description: '' });
              return `Created job type ${draft.name}.`;
            });
          }}
        >
          <label>
            Name{' '}
            <input
              name="name"
              value={draft.name}
              onInput={(e) => setDraft({ ...draft, name: value(e) })}
            />
          </label>
          <QueueSelect value={draft.queue} onChange={(queue) => setDraft({ ...draft, queue })} />
          <label>
            Max retries{' '}
            <input
              name="maxRetries"
              type="number"
              min="0"
              value={draft.maxRetries}
              onInput={(e) => setDraft({ ...draft, maxRetries: value(e) })}
            />
          </label>
          <label>
            Description{' '}
            <input
              name="description"
              value={draft.description}
              onInput={(e) => setDraft({ ...draft, description: value(e) })}
            />
          </label>
          <button type="submit" disabled={producerId === ''}>
            Create job type
          </button>
        </form>
      </Section>
      <Section title="Job types of this producer">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Priority</th>
              <th scope="col">Max retries</th>
              <th scope="col">Description</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(jobTypes ?? []).map((t) =>
              editing === t.name ? (
                <tr key={t.name}>
                  <td colSpan={6}>
                    <JobTypeEditor
                      jobType={t}
                      onDone={(save) => {
                        setEditing(undefined);
                        if (save) void act(save);
                      }}
                    />
                  </td>
                </tr>
              ) : (
                <tr key={t.name}>
                  <td>{t.name}</td>
                  <td>{queueName(t.queue)}</td>
                  <td>{t.maxRetries ?? 0}</td>
                  <td>{t.description}</td>
                  <td>{when(t.createdAt)}</td>
                  <td class="actions">
                    <button
                      type="button"
                      aria-label={`Edit ${t.name}`}
                      onClick={() => setEditing(t.name)}
                    >
                      Edit
                    </button>{' '}
                    <ConfirmButton
                      label="Delete"
                      question={`Delete job type ${t.name}?`}
                      onConfirm={() =>
                        act(async () => {
                          await call('jack.AdminService/DeleteJobType', {
                            producerId: t.producerId,
                            name: t.name,
                          });
                          return `Deleted job type ${t.name}.`;
                        })
                      }
                    />
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
        {jobTypes?.length === 0 ? <p>No job types yet.</p> : null}
        <Pager tokens={tokens} next={next} onPage={setTokens} />
      </Section>
    </>
  );
}

function QueueSelect(props: { value: string; onChange: (q: string) => void }) {
  return (
    <label>
      Priority{' '}
      <select
        name="queue"
        value={props.value}
        onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}
      >
        {QUEUES.map((q) => (
          <option key={q} value={q}>
            {queueName(q)}
          </option>
        ))}
      </select>
    </label>
  );
}

function JobTypeEditor(props: {
  jobType: JobType;
  onDone: (save?: () => Promise<string>) => void;
}) {
  const t = props.jobType;
  const [draft, setDraft] = useState({
    queue: t.queue ?? 'QUEUE_MEDIUM',
    maxRetries: String(t.maxRetries ?? 0),
    description: t.description ?? '',
  });
  return (
    <form
      class="inline"
      aria-label={`Edit job type ${t.name}`}
      onSubmit={(e) => {
        e.preventDefault();
        const after = {
          producerId: t.producerId,
          name: t.name,
          queue: draft.queue,
          maxRetries: Number.parseInt(draft.maxRetries, 10) || 0,
          description: draft.description,
        };
        const paths = changedPaths(
          {
            ...after,
            queue: t.queue ?? 'QUEUE_MEDIUM',
            maxRetries: t.maxRetries ?? 0,
            description: t.description ?? '',
          },
          after,
          ['queue', 'maxRetries', 'description'],
        );
        if (paths.length === 0) {
          props.onDone();
          return;
        }
        props.onDone(async () => {
          await call('jack.AdminService/UpdateJobType', {
            jobType: after,
            updateMask: paths.join(','),
          });
          return `Saved job type ${t.name} (${paths.join(', ')}).`;
        });
      }}
    >
      <QueueSelect value={draft.queue} onChange={(queue) => setDraft({ ...draft, queue })} />
      <label>
        Max retries{' '}
        <input
          name="maxRetries"
          type="number"
          value={draft.maxRetries}
          onInput={(e) => setDraft({ ...draft, maxRetries: value(e) })}
        />
      </label>
      <label>
        Description{' '}
        <input
          name="description"
          value={draft.description}
          onInput={(e) => setDraft({ ...draft, description: value(e) })}
        />
      </label>
      <button type="submit">Save</button>{' '}
      <button type="button" onClick={() => props.onDone()}>
        Cancel
      </button>
    </form>
  );
}

const ROLES = ['KEY_ROLE_UNSPECIFIED', 'KEY_ROLE_ADMIN', 'KEY_ROLE_PRODUCER', 'KEY_ROLE_WORKER'];
const roleName = (r: string | undefined, producerId: string | undefined) =>
  !r || r === 'KEY_ROLE_UNSPECIFIED'
    ? producerId
      ? 'producer'
      : 'admin'
    : r.replace('KEY_ROLE_', '').toLowerCase();

export function KeysPage() {
  const producers = useAllProducers();
  const [filter, setFilter] = useState('');
  const [tokens, setTokens] = useState<string[]>(['']);
  const [keys, setKeys] = useState<ApiKey[]>();
  const [next, setNext] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState('');
  const [token, setToken] = useState<string>();
  const [copied, setCopied] = useState('');
  const [draft, setDraft] = useState({ producerId: '', role: ROLES[0] as string, description: '' });

  const begin = useLatestLoad();
  const load = useCallback(async () => {
    const isLatest = begin();
    try {
      const r = await call<{ apiKeys?: ApiKey[]; nextPageToken?: string }>(
        'jack.AdminService/ListApiKeys',
        { producerId: filter, pageSize: PAGE_SIZE, pageToken: tokens[tokens.length - 1] },
      );
      if (!isLatest()) return;
      setKeys(r.apiKeys ?? []);
      setNext(r.nextPageToken);
    } catch (err) {
      if (!isLatest()) return;
      setError(err);
    }
  }, [filter, tokens]);
  useEffect(() => {
    void load();
  }, [load]);
  // A revoke can empty the last page: go back to the first.
  useEffect(() => {
    if (keys?.length === 0 && tokens.length > 1) setTokens(['']);
  }, [keys, tokens]);

  const act = async (what: () => Promise<string>) => {
    setError(undefined);
    setNotice('');
    try {
      setNotice(await what());
      await load();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <>
      <h1>API keys</h1>
      <ErrorBox error={error} />
      <p role="status" class="notice">
        {notice}
      </p>
      {token ? (
        <section class="token" aria-label="New key's token">
          <h2>The new key's token</h2>
          <p>Shown this once: Jack keeps only its hash. Copy it now.</p>
          <p>
            <code data-testid="new-token">{token}</code>{' '}
            <button
              type="button"
              onClick={async () => {
                try {
                  await navigator.clipboard.writeText(token);
                  setCopied('Copied.');
                } catch {
                  setCopied('Copying is not allowed here: select the token and copy it.');
                }
              }}
            >
              Copy token
            </button>{' '}
            <span role="status">{copied}</span>
          </p>
          <button
            type="button"
            onClick={() => {
              setToken(undefined);
              setCopied('');
            }}
          >
            Done, hide the token
          </button>
        </section>
      ) : null}
      <Section title="New key">
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const r = await call<{ apiKey: ApiKey; token: string }>(
                'jack.AdminService/CreateApiKey',
                draft,
              );
              setToken(r.token);
              setCopied('');
              return `Created key ${r.apiKey.keyId}.`;
            });
          }}
        >
          <ProducerSelect
            producers={producers}
            value={draft.producerId}
            label="Producer"
            allowNone="none (admin or worker key)"
            onChange={(producerId) => setDraft({ ...draft, producerId })}
          />
          <label>
            Role{' '}
            <select
              name="role"
              value={draft.role}
              onChange={(e) =>
                setDraft({ ...draft, role: (e.currentTarget as HTMLSelectElement).value })
              }
            >
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r === 'KEY_ROLE_UNSPECIFIED'
                    ? 'by producer (producer key with one, admin without)'
                    : roleName(r, undefined)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Description{' '}
            <input
              name="description"
              value={draft.description}
              onInput={(e) => setDraft({ ...draft, description: value(e) })}
            />
          </label>
          <button type="submit">Create key</button>
        </form>
      </Section>
      <Section title="Keys">
        <ProducerSelect
          producers={producers}
          value={filter}
          label="Show keys of"
          allowNone="every producer and admin keys"
          onChange={(id) => {
            setFilter(id);
            setTokens(['']);
          }}
        />
        <table>
          <thead>
            <tr>
              <th scope="col">Key id</th>
              <th scope="col">Producer</th>
              <th scope="col">Role</th>
              <th scope="col">Description</th>
              <th scope="col">Created</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(keys ?? []).map((k) => (
              <tr key={k.keyId}>
                <td>
                  <code>{k.keyId}</code>
                </td>
                <td>{k.producerId || '—'}</td>
                <td>{roleName(k.role, k.producerId)}</td>
                <td>{k.description}</td>
                <td>{when(k.createdAt)}</td>
                <td class="actions">
                  <ConfirmButton
                    label="Revoke"
                    question={`Revoke key ${k.keyId}? It stops working at once.`}
                    onConfirm={() =>
                      act(async () => {
                        await call('jack.AdminService/RevokeApiKey', { keyId: k.keyId });
                        return `Revoked key ${k.keyId}.`;
                      })
                    }
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {keys?.length === 0 ? <p>No keys.</p> : null}
        <Pager tokens={tokens} next={next} onPage={setTokens} />
      </Section>
    </>
  );
}
