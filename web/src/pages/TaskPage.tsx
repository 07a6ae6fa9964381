/**
 * @module One task: its fields, payload and result (text fields as sanitized Markdown), error, sessions, and cancel /
 * retry for approvers and admins.
 */
import { useState } from 'react';
import { api, canChange, type Me, type Session, type Task } from '../api.js';
import { Markdown } from '../Markdown.js';
import { Empty, ErrorNote, JsonView, Link, Loading, Status, time, useLoad } from '../ui.js';

/** Long text fields (spec, description, summary…) of a payload or result, shown as Markdown. */
function textFields(value: unknown): Array<[string, string]> {
  if (typeof value === 'string') return value.length > 0 ? [['text', value]] : [];
  if (!value || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].length > 40,
  );
}

export default function TaskPage({ id, me }: { id: number; me: Me | null }) {
  const task = useLoad(
    () => api<Task>(`/api/tasks/${id}`),
    [id],
    (e) => e.subject_type === 'task' && e.subject_id === String(id),
  );
  const sessions = useLoad(
    () => api<{ sessions: Session[] }>(`/api/tasks/${id}/sessions`),
    [id],
    (e) => e.kind.startsWith('session.'),
  );
  const [actionError, setActionError] = useState<Error>();
  const act = async (action: 'cancel' | 'retry') => {
    setActionError(undefined);
    try {
      await api<Task>(`/api/tasks/${id}/${action}`, { method: 'POST' });
      task.reload();
    } catch (error) {
      setActionError(error as Error);
    }
  };

  if (task.error)
    return (
      <div className="page">
        <h1>Task #{id}</h1>
        <ErrorNote error={task.error} />
      </div>
    );
  if (!task.data)
    return (
      <div className="page">
        <Loading />
      </div>
    );
  const t = task.data;
  const docs = [
    ...textFields(t.payload).map(([k, v]) => [`payload.${k}`, v]),
    ...textFields(t.result).map(([k, v]) => [`result.${k}`, v]),
  ];

  return (
    <div className="page">
      <h1>
        Task #{t.id} <span className="muted">{t.type}</span> <Status value={t.status} />
      </h1>
      {canChange(me) ? (
        <div className="actions">
          {t.status === 'pending' || t.status === 'in_progress' ? (
            <button className="danger" onClick={() => void act('cancel')}>
              Cancel task
            </button>
          ) : null}
          {t.status === 'failed' || t.status === 'cancelled' ? (
            <button onClick={() => void act('retry')}>Retry task</button>
          ) : null}
        </div>
      ) : null}
      <ErrorNote error={actionError} />
      <dl className="fields">
        <dt>Priority</dt>
        <dd>{t.priority}</dd>
        <dt>Attempts</dt>
        <dd>
          {t.attempts} of {t.max_attempts}
        </dd>
        <dt>Created</dt>
        <dd>
          {time(t.created_at)} by {t.created_by}
        </dd>
        <dt>Started</dt>
        <dd>{time(t.started_at)}</dd>
        <dt>Finished</dt>
        <dd>{time(t.finished_at)}</dd>
      </dl>
      {t.error ? (
        <section>
          <h2>Error</h2>
          <pre className="error-text">{t.error}</pre>
        </section>
      ) : null}
      {docs.map(([name, text]) => (
        <section key={name}>
          <h2>{name}</h2>
          <Markdown text={text!} />
        </section>
      ))}
      <section>
        <h2>Payload</h2>
        <JsonView value={t.payload} />
      </section>
      <ForgeWrites result={t.result} />
      <section>
        <h2>Result</h2>
        {t.result === null || t.result === undefined ? (
          <p className="muted">No result yet.</p>
        ) : (
          <JsonView value={t.result} />
        )}
      </section>
      <section>
        <h2>Sessions</h2>
        <ErrorNote error={sessions.error} />
        {sessions.data && sessions.data.sessions.length === 0 ? (
          <Empty>No agent has worked on this task yet; it starts when an agent of its role is free.</Empty>
        ) : null}
        {sessions.data && sessions.data.sessions.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th>Session</th>
                <th>Role</th>
                <th>Provider</th>
                <th>Status</th>
                <th>Tokens</th>
                <th>Started</th>
              </tr>
            </thead>
            <tbody>
              {sessions.data.sessions.map((s) => (
                <tr key={s.id}>
                  <td>
                    <Link to={`/sessions/${s.id}`}>Session {s.id}</Link>
                  </td>
                  <td>{s.role}</td>
                  <td>
                    {s.provider}
                    {s.model ? ` / ${s.model}` : ''}
                  </td>
                  <td>
                    <Status value={s.status} />
                  </td>
                  <td>{(s.tokens_in + s.tokens_out).toLocaleString()}</td>
                  <td>{time(s.started_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
    </div>
  );
}

interface ForgeSummary {
  forge: string;
  epic?: { form: 'epic' | 'parent_issue'; external_id: string | null; url: string | null };
  writes: { key: string; kind: string; status: string; url: string | null }[];
  skipped?: string;
}

/** What the task wrote into GitLab/GitHub (`result.forge`), and which form its epic took there. */
function ForgeWrites({ result }: { result: unknown }) {
  const forge = (result as { forge?: ForgeSummary } | null | undefined)?.forge;
  if (!forge) return null;
  const name = forge.forge === 'gitlab' ? 'GitLab' : 'GitHub';
  const epic = forge.epic;
  return (
    <section data-testid="task-forge">
      <h2>In {name}</h2>
      {forge.skipped ? <p className="muted">Nothing written: {forge.skipped}</p> : null}
      {epic ? (
        <p>
          Epic{' '}
          {epic.url ? (
            <a href={epic.url} target="_blank" rel="noreferrer">
              {epic.external_id}
            </a>
          ) : (
            epic.external_id
          )}{' '}
          {epic.form === 'epic'
            ? `is a real ${name} epic`
            : 'is a parent issue its stories link to (the group has no epics)'}
        </p>
      ) : null}
      {forge.writes.length > 0 ? (
        <ul>
          {forge.writes.map((w) => (
            <li key={w.key}>
              {w.kind} {w.status}
              {w.url ? (
                <>
                  {' '}
                  <a href={w.url} target="_blank" rel="noreferrer">
                    {w.url}
                  </a>
                </>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}
