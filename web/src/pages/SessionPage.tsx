/**
 * @module One session's transcript, live: new entries are fetched with `?after=<last seq>` when a session event
 * arrives and every second while the session runs (transcript writes do not emit events of their own).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, onLiveEvent, type Session, type TranscriptEntry } from '../api.js';
import { Markdown } from '../Markdown.js';
import { ErrorNote, JsonView, Link, Loading, Status, time } from '../ui.js';
import type { SessionPage as Page } from '../../../src/domain/session-schema.js';

const RUNNING_POLL_MS = 1000;

function field(data: unknown, ...names: string[]): string | undefined {
  if (!data || typeof data !== 'object') return undefined;
  for (const name of names) {
    const value = (data as Record<string, unknown>)[name];
    if (typeof value === 'string') return value;
  }
  return undefined;
}

function Entry({ entry }: { entry: TranscriptEntry }) {
  const text = typeof entry.data === 'string' ? entry.data : field(entry.data, 'text', 'message', 'content');
  const command = field(entry.data, 'command', 'cmd');
  const tool = field(entry.data, 'name', 'tool');
  const file = field(entry.data, 'path', 'file');
  let body;
  if (entry.kind.includes('command') && command) body = <pre className="command">$ {command}</pre>;
  else if (entry.kind.includes('file') && file) body = <p className="mono">{file}</p>;
  else if (entry.kind.includes('tool') && tool) body = <p className="mono">{tool}</p>;
  else if (text !== undefined) body = <Markdown text={text} />;
  return (
    <li className={`entry entry-${entry.kind.replace(/[^a-z_]/g, '')}`} data-seq={entry.seq}>
      <div className="entry-head">
        <b>{entry.kind.replace(/_/g, ' ')}</b>{' '}
        <span className="muted">
          #{entry.seq} · {time(entry.at)}
        </span>
      </div>
      {body}
      {body === undefined ||
      (typeof entry.data === 'object' && entry.data !== null && Object.keys(entry.data).length > 1) ? (
        <details>
          <summary>data</summary>
          <JsonView value={entry.data} />
        </details>
      ) : null}
    </li>
  );
}

export default function SessionPage({ id }: { id: number }) {
  const [session, setSession] = useState<Session>();
  const [entries, setEntries] = useState<TranscriptEntry[]>([]);
  const [error, setError] = useState<Error>();
  const after = useRef(-1);
  const busy = useRef(false);

  const fetchMore = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    try {
      for (;;) {
        const page = await api<Page>(`/api/sessions/${id}${after.current >= 0 ? `?after=${after.current}` : ''}`);
        setSession(page.session);
        if (page.events.length > 0) {
          after.current = page.next_after;
          setEntries((list) => [...list, ...page.events]);
        }
        setError(undefined);
        if (page.events.length < 500) break;
      }
    } catch (failure) {
      setError(failure as Error);
    } finally {
      busy.current = false;
    }
  }, [id]);

  useEffect(() => {
    after.current = -1;
    setEntries([]);
    setSession(undefined);
    void fetchMore();
    return onLiveEvent((event) => {
      if (event.subject_type === 'session' && event.subject_id === String(id)) void fetchMore();
    });
  }, [id, fetchMore]);

  const running = session?.status === 'running';
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => void fetchMore(), RUNNING_POLL_MS);
    return () => clearInterval(timer);
  }, [running, fetchMore]);

  if (!session) return <div className="page">{error ? <ErrorNote error={error} /> : <Loading />}</div>;
  return (
    <div className="page">
      <h1>
        Session {session.id} <span className="muted">{session.role}</span> <Status value={session.status} />
      </h1>
      <p>
        {session.task_id !== null ? <Link to={`/tasks/${session.task_id}`}>Task #{session.task_id}</Link> : 'No task'} ·{' '}
        {session.provider}
        {session.model ? ` / ${session.model}` : ''} · started {time(session.started_at)}
        {session.finished_at ? ` · finished ${time(session.finished_at)}` : ''} ·{' '}
        {(session.tokens_in + session.tokens_out).toLocaleString()} tokens · ${session.cost_usd.toFixed(2)}
      </p>
      {session.outcome ? <Markdown text={session.outcome} /> : null}
      <ErrorNote error={error} />
      <h2>Transcript {running ? <span className="live">● live</span> : null}</h2>
      {entries.length === 0 ? <p className="muted">No transcript entries yet.</p> : null}
      <ol className="transcript">
        {entries.map((entry) => (
          <Entry key={entry.seq} entry={entry} />
        ))}
      </ol>
    </div>
  );
}
