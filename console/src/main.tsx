/**
 * The Jack console (SPEC §18): sign-in with an API key (this tab's
 * sessionStorage only), then overview, producers, job types, keys and jobs.
 * What the key may not do is not shown: Jack is asked once (ListProducers)
 * and a refusal for lack of permission hides the admin pages.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { JobTypesPage, KeysPage, ProducersPage } from './admin.tsx';
import { JobPage, JobsPage } from './jobs.tsx';
import { OverviewPage } from './overview.tsx';
import { apiKey, call, RpcError } from './rpc.ts';
import { ErrorBox } from './ui.tsx';
import './console.css';

type Session =
  | { kind: 'checking' }
  | { kind: 'signed-out'; error?: unknown }
  | { kind: 'signed-in'; admin: boolean; authOff: boolean };

/** What `key` may do: admin (ListProducers works), other (refused for permission), or refused. */
async function probe(key: string | null): Promise<Session> {
  try {
    await call('jack.AdminService/ListProducers', { pageSize: 1 }, key);
    return { kind: 'signed-in', admin: true, authOff: key === null };
  } catch (err) {
    if (err instanceof RpcError && err.code === 'permission_denied' && key !== null) {
      return { kind: 'signed-in', admin: false, authOff: false };
    }
    if (err instanceof RpcError && err.code === 'unauthenticated') {
      return { kind: 'signed-out', error: key === null ? undefined : err };
    }
    return { kind: 'signed-out', error: err };
  }
}

function useRoute(): string {
  const read = () => location.hash.replace(/^#/, '') || '/overview';
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const onChange = () => setRoute(read());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function SignIn(props: { error?: unknown; onSignIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  return (
    <main id="main" class="signin">
      <h1>Sign in to Jack</h1>
      <p>Jack runs with AUTH_MODE=on: paste an API key. It is kept in this tab only.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          props.onSignIn(key.trim());
        }}
      >
        <label>
          API key{' '}
          <input
            name="apiKey"
            type="password"
            autoComplete="off"
            value={key}
            onInput={(e) => setKey((e.currentTarget as HTMLInputElement).value)}
          />
        </label>{' '}
        <button type="submit" disabled={key.trim() === ''}>
          Sign in
        </button>
      </form>
      <ErrorBox error={props.error} />
    </main>
  );
}

function Page(props: { route: string; admin: boolean }) {
  const { route, admin } = props;
  if (route.startsWith('/jobs/')) return <JobPage jobId={decodeURIComponent(route.slice(6))} />;
  if (route === '/jobs') return <JobsPage />;
  if (admin && route === '/producers') return <ProducersPage />;
  if (admin && route === '/job-types') return <JobTypesPage />;
  if (admin && route === '/keys') return <KeysPage />;
  if (route === '/overview') return <OverviewPage />;
  return (
    <>
      <h1>Not here</h1>
      <p>
        This page does not exist or this key may not see it. <a href="#/overview">Overview</a>
      </p>
    </>
  );
}

function App() {
  const [session, setSession] = useState<Session>({ kind: 'checking' });
  const route = useRoute();
  useEffect(() => {
    void probe(apiKey.get()).then((s) => {
      if (s.kind === 'signed-out') apiKey.clear();
      setSession(s);
    });
  }, []);

  if (session.kind === 'checking') {
    return (
      <main id="main">
        <p role="status">Connecting to Jack…</p>
      </main>
    );
  }
  if (session.kind === 'signed-out') {
    return (
      <SignIn
        error={session.error}
        onSignIn={async (key) => {
          const s = await probe(key);
          if (s.kind === 'signed-in') apiKey.set(key);
          setSession(s);
        }}
      />
    );
  }
  const links: Array<[string, string, boolean]> = [
    ['/overview', 'Overview', true],
    ['/jobs', 'Jobs', true],
    ['/producers', 'Producers', session.admin],
    ['/job-types', 'Job types', session.admin],
    ['/keys', 'API keys', session.admin],
  ];
  const current = route.startsWith('/jobs/') ? '/jobs' : route;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">Jack</span>
        <nav aria-label="Console">
          <ul>
            {links
              .filter(([, , shown]) => shown)
              .map(([path, label]) => (
                <li key={path}>
                  <a href={`#${path}`} aria-current={current === path ? 'page' : undefined}>
                    {label}
                  </a>
                </li>
              ))}
          </ul>
        </nav>
        <span class="who">
          {session.authOff ? (
            'AUTH_MODE=off: no key needed'
          ) : (
            <>
              {session.admin ? 'Admin key' : 'Key without admin rights'}{' '}
              <button
                type="button"
                onClick={() => {
                  apiKey.clear();
                  setSession({ kind: 'signed-out' });
                }}
              >
                Sign out
              </button>
            </>
          )}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} admin={session.admin} />
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root !== null) {
  root.textContent = '';
  render(<App />, root);
}
