/**
 * @module Memory: search the swarm's memory (words, a repository or "global"), read the notes as plain text with their
 * source, add a note and forget one (approvers and admins).
 */
import { useState } from 'react';
import type { MemoryNote } from '../../../src/domain/memory-schema.js';
import { api, canChange, type Me } from '../api.js';
import { Empty, ErrorNote, Loading, useLoad } from '../ui.js';

export default function Memory({ me }: { me: Me | null }) {
  const [q, setQ] = useState('');
  const [repo, setRepo] = useState('');
  const [applied, setApplied] = useState({ q: '', repo: '' });
  const [text, setText] = useState('');
  const [error, setError] = useState<Error>();
  const query = new URLSearchParams();
  if (applied.q) query.set('q', applied.q);
  if (applied.repo) query.set('repo', applied.repo);
  const list = useLoad(
    () => api<{ notes: MemoryNote[]; search: string }>(`/api/memory?${query.toString()}`),
    [applied.q, applied.repo],
    (e) => e.kind.startsWith('memory.'),
  );

  const act = async (work: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await work();
      list.reload();
    } catch (failure) {
      setError(failure as Error);
    }
  };

  return (
    <div className="page">
      <h1>Memory</h1>
      <form
        className="memory-search"
        onSubmit={(event) => {
          event.preventDefault();
          setApplied({ q: q.trim(), repo: repo.trim() });
        }}
      >
        <input aria-label="Search words" placeholder="Search words" value={q} onChange={(e) => setQ(e.target.value)} />
        <input
          aria-label="Repository"
          placeholder='Repository name or "global" (empty: all)'
          value={repo}
          onChange={(e) => setRepo(e.target.value)}
        />
        <button type="submit">Search</button>
      </form>
      {canChange(me) ? (
        <form
          className="memory-add"
          onSubmit={(event) => {
            event.preventDefault();
            void act(async () => {
              await api('/api/memory', {
                method: 'POST',
                body: { text, repo: repo.trim() && repo.trim() !== 'global' ? repo.trim() : null },
              });
              setText('');
            });
          }}
        >
          <textarea
            aria-label="New note"
            value={text}
            rows={2}
            placeholder="A note for the agents (for the repository above, else global)"
            onChange={(e) => setText(e.target.value)}
          />
          <button type="submit" disabled={text.trim() === ''}>
            Add note
          </button>
        </form>
      ) : null}
      <ErrorNote error={error ?? list.error} />
      {!list.data && !list.error ? <Loading /> : null}
      {list.data && list.data.notes.length === 0 ? (
        <Empty>
          No notes{applied.q ? ' match' : ' yet'}. Agents add them as they learn; humans with{' '}
          <code>autodev memory add</code>.
        </Empty>
      ) : null}
      {list.data && list.data.notes.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>Scope</th>
              <th>Source</th>
              <th>Note</th>
              <th>By</th>
              <th>When</th>
              {canChange(me) ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {list.data.notes.map((n) => (
              <tr key={n.id}>
                <td>{n.id}</td>
                <td>{n.repo_id === null ? 'global' : `repository ${n.repo_id}`}</td>
                <td>{n.source}</td>
                <td className="message">{n.text}</td>
                <td>{n.created_by}</td>
                <td>{n.created_at.slice(0, 16).replace('T', ' ')}</td>
                {canChange(me) ? (
                  <td>
                    <button
                      type="button"
                      onClick={() => void act(() => api(`/api/memory/${n.id}`, { method: 'DELETE' }))}
                    >
                      Forget
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
