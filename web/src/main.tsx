/**
 * @module The dashboard's entry: login by token, the navigation bar, the live-event connection, and the routes
 * (pages beyond the story board and the overview load on demand).
 */
import { lazy, StrictMode, Suspense, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, ApiError, getToken, onConnection, setToken, startLiveEvents, stopLiveEvents, type Me } from './api.js';
import Overview from './pages/Overview.js';
// The landing page loads with the app, not after it.
import StoryBoard from './pages/StoryBoard.js';
import { Link, Loading, navigate, usePath } from './ui.js';
import './style.css';

const Tasks = lazy(() => import('./pages/Tasks.js'));
const TaskPage = lazy(() => import('./pages/TaskPage.js'));
const SessionPage = lazy(() => import('./pages/SessionPage.js'));
const Instructions = lazy(() => import('./pages/Instructions.js'));
const Approvals = lazy(() => import('./pages/Approvals.js'));
const Repos = lazy(() => import('./pages/Repos.js'));
const Swarm = lazy(() => import('./pages/Swarm.js'));
const Schedules = lazy(() => import('./pages/Schedules.js'));
const StoryPage = lazy(() => import('./pages/StoryPage.js'));
const Memory = lazy(() => import('./pages/Memory.js'));
const Projects = lazy(() => import('./pages/Projects.js'));
const Costs = lazy(() => import('./pages/Costs.js'));

function Login({ onLogin }: { onLogin: (me: Me) => void }) {
  const [token, setTokenInput] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const me = await api<Me>('/api/me', { token: token.trim() });
      setToken(token.trim());
      if (location.pathname === '/') navigate('/stories');
      onLogin(me);
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401
          ? 'That token is not valid or was revoked. Use the admin token from <data-dir>/admin-token, or create one with "autodev tokens create --role viewer".'
          : `Could not sign in: ${(failure as Error).message}`,
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="login">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <h1>Auto-Dev</h1>
        <p className="muted">Sign in with an API token. It is kept only in this browser tab.</p>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          autoFocus
          value={token}
          onChange={(e) => setTokenInput(e.target.value)}
        />
        <button type="submit" disabled={busy || token.trim() === ''}>
          Sign in
        </button>
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
      </form>
    </div>
  );
}

function Connection() {
  const [connected, setConnected] = useState(false);
  useEffect(() => onConnection(setConnected), []);
  return (
    <span className={connected ? 'conn on' : 'conn off'} title={connected ? 'Live updates on' : 'Reconnecting…'}>
      {connected ? '● live' : '○ reconnecting'}
    </span>
  );
}

function Page({ path, me }: { path: string; me: Me }) {
  const url = new URL(path, location.origin);
  const parts = url.pathname.split('/').filter(Boolean);
  const id = Number(parts[1]);
  if (parts.length === 0) return <Overview />;
  if (parts[0] === 'stories' && parts.length === 1) return <StoryBoard me={me} query={url.searchParams} />;
  if (parts[0] === 'stories' && Number.isInteger(id) && id > 0) return <StoryPage id={id} me={me} />;
  if (parts[0] === 'tasks' && parts.length === 1) return <Tasks query={url.searchParams} />;
  if (parts[0] === 'tasks' && Number.isInteger(id) && id > 0) return <TaskPage id={id} me={me} />;
  if (parts[0] === 'sessions' && Number.isInteger(id) && id > 0) return <SessionPage id={id} />;
  if (parts[0] === 'instructions') return <Instructions me={me} />;
  if (parts[0] === 'approvals') return <Approvals me={me} query={url.searchParams} />;
  if (parts[0] === 'repos') return <Repos me={me} />;
  if (parts[0] === 'swarm') return <Swarm me={me} query={url.searchParams} />;
  if (parts[0] === 'schedules') return <Schedules />;
  if (parts[0] === 'memory') return <Memory me={me} />;
  if (parts[0] === 'projects' && parts.length === 1) return <Projects me={me} query={url.searchParams} />;
  if (parts[0] === 'projects' && Number.isInteger(id) && id > 0)
    return <Projects me={me} query={url.searchParams} id={id} />;
  if (parts[0] === 'costs') return <Costs query={url.searchParams} />;
  return (
    <div className="page">
      <h1>Not found</h1>
      <p>
        Nothing here. Go to the <Link to="/">overview</Link>.
      </p>
    </div>
  );
}

const NAV: Array<[string, string]> = [
  ['/stories', 'Stories'],
  ['/', 'Overview'],
  ['/tasks', 'Tasks'],
  ['/instructions', 'Instructions'],
  ['/approvals', 'Approvals'],
  ['/projects', 'Projects'],
  ['/repos', 'Repositories'],
  ['/swarm', 'Swarm'],
  ['/schedules', 'Schedules'],
  ['/memory', 'Memory'],
  ['/costs', 'Costs'],
];

function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(getToken() !== null);

  useEffect(() => {
    if (!getToken()) return;
    api<Me>('/api/me').then(
      (value) => {
        setMe(value);
        setChecking(false);
      },
      () => {
        setToken(null);
        setChecking(false);
      },
    );
  }, []);
  useEffect(() => {
    if (!me) return;
    startLiveEvents();
    return stopLiveEvents;
  }, [me]);

  if (checking) return <Loading />;
  if (!me) return <Login onLogin={setMe} />;
  const section = '/' + (new URL(path, location.origin).pathname.split('/')[1] ?? '');
  return (
    <>
      <header>
        <b className="brand">Auto-Dev</b>
        <nav>
          {NAV.map(([to, label]) => (
            <Link key={to} to={to} className={section === to ? 'active' : ''}>
              {label}
            </Link>
          ))}
        </nav>
        <Connection />
        <span className="who">
          {me.name} ({me.role})
        </span>
        <button
          className="link"
          onClick={() => {
            setToken(null);
            setMe(null);
            navigate('/');
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Suspense fallback={<Loading />}>
          <Page path={path} me={me} />
        </Suspense>
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
