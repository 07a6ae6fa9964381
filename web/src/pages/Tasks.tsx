/**
 * @module The task list: each task with its story and title, role, provider, duration and cost; filter by status,
 * type, role and story; cursor pages (newest first), refreshed on task and session events.
 */
import { useState } from 'react';
import type { TaskPage as Page } from '../../../src/domain/task-schema.js';
import { api, ROLES, TASK_STATUSES } from '../api.js';
import { usd } from './StoryBoard.js';
import { Empty, ErrorNote, Link, Loading, navigate, Status, time, useLoad } from '../ui.js';

function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

export default function Tasks({ query }: { query: URLSearchParams }) {
  const status = query.get('status') ?? '';
  const type = query.get('type') ?? '';
  const cursor = query.get('cursor') ?? '';
  const role = query.get('role') ?? '';
  const story = query.get('story') ?? '';
  const [typeInput, setTypeInput] = useState(type);
  const params = new URLSearchParams();
  if (status) params.set('status', status);
  if (type) params.set('type', type);
  if (role) params.set('role', role);
  if (story) params.set('story', story);
  params.set('limit', '25');
  if (cursor) params.set('cursor', cursor);
  const page = useLoad(
    () => api<Page>(`/api/tasks?${params}`),
    [status, type, role, story, cursor],
    (e) => e.kind.startsWith('task.') || e.kind.startsWith('session.'),
  );

  const go = (next: Record<string, string>) => {
    const q = new URLSearchParams({ status, type, role, story, ...next });
    for (const [key, value] of [...q]) if (!value) q.delete(key);
    navigate(`/tasks${q.size ? `?${q}` : ''}`);
  };

  return (
    <div className="page">
      <h1>Tasks</h1>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          go({ type: typeInput.trim(), cursor: '' });
        }}
      >
        <label>
          Status{' '}
          <select value={status} onChange={(e) => go({ status: e.target.value, cursor: '' })}>
            <option value="">any</option>
            {TASK_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          Role{' '}
          <select value={role} onChange={(e) => go({ role: e.target.value, cursor: '' })}>
            <option value="">any</option>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        {story ? (
          <span>
            Story #{story}{' '}
            <button type="button" onClick={() => go({ story: '', cursor: '' })}>
              all stories
            </button>
          </span>
        ) : null}
        <label>
          Type <input value={typeInput} placeholder="e.g. write_spec" onChange={(e) => setTypeInput(e.target.value)} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorNote error={page.error} />
      {!page.data && !page.error ? <Loading /> : null}
      {page.data && page.data.tasks.length === 0 ? (
        <Empty>
          No tasks{status || type || role || story ? ' match these filters' : ' yet'}. Create one with{' '}
          <code>
            autodev tasks create write_spec --payload '{'{'}"idea":"…"{'}'}'
          </code>
          .
        </Empty>
      ) : null}
      {page.data && page.data.tasks.length > 0 ? (
        <div className="table-box">
          <table>
            <thead>
              <tr>
                <th>#</th>
                <th>Story</th>
                <th>Type</th>
                <th>Role</th>
                <th>Status</th>
                <th>Provider</th>
                <th>Duration</th>
                <th>Cost</th>
                <th>Attempts</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {page.data.tasks.map((task) => (
                <tr key={task.id}>
                  <td>
                    <Link to={`/tasks/${task.id}`}>#{task.id}</Link>
                  </td>
                  <td>
                    {task.story ? (
                      <Link to={`/stories/${task.story.id}`}>
                        #{task.story.id} {task.story.title}
                      </Link>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>{task.type}</td>
                  <td>{task.role ? <Link to={`/tasks?role=${task.role}`}>{task.role}</Link> : '—'}</td>
                  <td>
                    <Status value={task.status} />
                  </td>
                  <td>{task.provider ?? '—'}</td>
                  <td>{duration(task.duration_ms)}</td>
                  <td title={`${task.tokens} tokens`}>{usd(task.cost_usd)}</td>
                  <td>
                    {task.attempts}/{task.max_attempts}
                  </td>
                  <td>{time(task.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <div className="pager">
        {cursor ? <button onClick={() => go({ cursor: '' })}>First page</button> : null}
        {page.data?.next_cursor ? (
          <button onClick={() => go({ cursor: page.data!.next_cursor! })}>Next page</button>
        ) : null}
      </div>
    </div>
  );
}
