/**
 * @module The task list: filter by status and type, cursor pages (newest first), refreshed on task events.
 */
import { useState } from 'react';
import { api, TASK_STATUSES, type Task } from '../api.js';
import { Empty, ErrorNote, Link, Loading, navigate, Status, time, useLoad } from '../ui.js';

interface Page {
  tasks: Task[];
  next_cursor: string | null;
}

export default function Tasks({ query }: { query: URLSearchParams }) {
  const status = query.get('status') ?? '';
  const type = query.get('type') ?? '';
  const cursor = query.get('cursor') ?? '';
  const [typeInput, setTypeInput] = useState(type);
  const params = new URLSearchParams();
  if (status) params.set('status', status);
  if (type) params.set('type', type);
  params.set('limit', '25');
  if (cursor) params.set('cursor', cursor);
  const page = useLoad(
    () => api<Page>(`/api/tasks?${params}`),
    [status, type, cursor],
    (e) => e.kind.startsWith('task.'),
  );

  const go = (next: Record<string, string>) => {
    const q = new URLSearchParams({ status, type, ...next });
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
          Type <input value={typeInput} placeholder="e.g. write_spec" onChange={(e) => setTypeInput(e.target.value)} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <ErrorNote error={page.error} />
      {!page.data && !page.error ? <Loading /> : null}
      {page.data && page.data.tasks.length === 0 ? (
        <Empty>
          No tasks{status || type ? ' match these filters' : ' yet'}. Create one with{' '}
          <code>
            autodev tasks create write_spec --payload '{'{'}"idea":"…"{'}'}'
          </code>
          .
        </Empty>
      ) : null}
      {page.data && page.data.tasks.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>Type</th>
              <th>Status</th>
              <th>Priority</th>
              <th>Attempts</th>
              <th>Created</th>
              <th>By</th>
            </tr>
          </thead>
          <tbody>
            {page.data.tasks.map((task) => (
              <tr key={task.id}>
                <td>
                  <Link to={`/tasks/${task.id}`}>#{task.id}</Link>
                </td>
                <td>{task.type}</td>
                <td>
                  <Status value={task.status} />
                </td>
                <td>{task.priority}</td>
                <td>
                  {task.attempts}/{task.max_attempts}
                </td>
                <td>{time(task.created_at)}</td>
                <td>{task.created_by}</td>
              </tr>
            ))}
          </tbody>
        </table>
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
