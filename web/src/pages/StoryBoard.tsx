/**
 * @module The story board, the landing page: a column per stage (a list per stage on a phone), a card per story
 * with its repository, round, gate badges, age, cost so far and who it waits for, filters by repository and status,
 * and "New story" for approvers and admins. A page of the newest stories first, "Older stories" adds the next page.
 * Live: any workflow, task, approval or session event refetches the pages shown.
 */
import { useRef, useState } from 'react';
import type { BoardColumn, StoryBoard as Board, StoryCard } from '../../../src/domain/story-board-schema.js';
import { api, canChange, type Me } from '../api.js';
import { ago, Empty, ErrorNote, Link, Loading, navigate, useLoad } from '../ui.js';

const COLUMN_LABELS: Record<BoardColumn, string> = {
  story: 'Story',
  spec: 'Spec',
  spec_approval: 'Spec approval',
  implement: 'Implement',
  gates: 'Gates',
  merge_approval: 'Merge approval',
  merge: 'Merge',
  deploy: 'Deploy',
  done: 'Done',
  waiting_for_human: 'Waiting for a human',
};

const STATUSES = ['', 'running', 'waiting_for_human', 'completed', 'cancelled'];

export const usd = (value: number) => `$${value.toFixed(value < 1 ? 3 : 2)}`;

function GateBadges({ gates }: { gates: StoryCard['gates'] }) {
  const entries = Object.entries(gates).filter(([, value]) => value !== null);
  if (entries.length === 0) return null;
  return (
    <span className="gate-badges">
      {entries.map(([gate, value]) => (
        <span key={gate} className={`gate-badge gate-${value}`} title={`${gate}: ${value}`}>
          {gate} {value === 'passed' ? '✓' : value === 'failed' ? '✗' : '…'}
        </span>
      ))}
    </span>
  );
}

function Card({ story }: { story: StoryCard }) {
  return (
    <li className="story-card" data-testid={`story-card-${story.id}`} data-column={story.column}>
      <Link to={`/stories/${story.id}`}>
        <strong>
          #{story.id} {story.title}
        </strong>
      </Link>
      <div className="muted">
        {story.repo ?? 'no repository'} · {story.round > 0 ? `fix round ${story.round} · ` : ''}
        {ago(story.created_at)}
      </div>
      <GateBadges gates={story.gates} />
      <div className="story-card-foot">
        <span title={`${story.tokens} tokens`}>{usd(story.cost_usd)}</span>
        {story.waits_for ? <span className={`waits waits-${story.waits_for}`}>waits for {story.waits_for}</span> : null}
      </div>
    </li>
  );
}

function NewStory({ repos, onCreated }: { repos: string[]; onCreated: (id: number) => void }) {
  const [open, setOpen] = useState(false);
  const [repo, setRepo] = useState('');
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  if (!open) {
    return (
      <button
        onClick={() => setOpen(true)}
        disabled={repos.length === 0}
        title={repos.length ? '' : 'Add a repository first'}
      >
        New story
      </button>
    );
  }
  const chosen = repo || repos[0] || '';
  return (
    <form
      className="card new-story"
      onSubmit={(event) => {
        event.preventDefault();
        setBusy(true);
        setError(undefined);
        api<{ id: number }>('/api/stories', { method: 'POST', body: { repo: chosen, title, body } }).then(
          (story) => {
            setBusy(false);
            setOpen(false);
            setTitle('');
            setBody('');
            onCreated(story.id);
          },
          (failure: Error) => {
            setBusy(false);
            setError(failure);
          },
        );
      }}
    >
      <h2>New story</h2>
      <label>
        Repository{' '}
        <select value={chosen} onChange={(e) => setRepo(e.target.value)}>
          {repos.map((name) => (
            <option key={name}>{name}</option>
          ))}
        </select>
      </label>
      <label>
        Title <input value={title} maxLength={200} onChange={(e) => setTitle(e.target.value)} required />
      </label>
      <label>
        What it should do
        <textarea value={body} rows={4} onChange={(e) => setBody(e.target.value)} />
      </label>
      <div>
        <button type="submit" disabled={busy || title.trim() === ''}>
          Start story
        </button>{' '}
        <button type="button" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

export default function StoryBoard({ me, query }: { me: Me; query: URLSearchParams }) {
  const repo = query.get('repo') ?? '';
  const status = query.get('status') ?? '';
  const params = new URLSearchParams();
  if (repo) params.set('repo', repo);
  if (status) params.set('status', status);
  const search = params.toString();
  // Pages shown for these filters: the first, plus one per "Older stories"; a live refresh reloads them all.
  const shown = useRef({ search, pages: 1 });
  if (shown.current.search !== search) shown.current = { search, pages: 1 };
  const board = useLoad(
    () => loadBoardPages(search, shown.current.pages),
    [search],
    (e) =>
      e.kind.startsWith('workflow.') ||
      e.kind.startsWith('task.') ||
      e.kind.startsWith('approval.') ||
      e.kind.startsWith('session.'),
  );
  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(key, value);
    else next.delete(key);
    const text = next.toString();
    navigate(`/stories${text ? `?${text}` : ''}`);
  };
  const data = board.data;
  return (
    <div className="page">
      <h1>Stories</h1>
      <div className="filters">
        <label>
          Repository{' '}
          <select value={repo} onChange={(e) => setFilter('repo', e.target.value)}>
            <option value="">all</option>
            {data?.repos.map((name) => (
              <option key={name}>{name}</option>
            ))}
          </select>
        </label>
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setFilter('status', e.target.value)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s ? s.replace(/_/g, ' ') : 'all'}
              </option>
            ))}
          </select>
        </label>
        {canChange(me) && data ? <NewStory repos={data.repos} onCreated={board.reload} /> : null}
      </div>
      <ErrorNote error={board.error} />
      {!data && !board.error ? <Loading /> : null}
      {data && data.stories.length === 0 ? (
        <Empty>
          No stories{repo || status ? ' match these filters' : ' yet'}.{' '}
          {data.repos.length === 0 ? (
            <>
              Register a repository on the <Link to="/repos">repositories</Link> page first.
            </>
          ) : null}
        </Empty>
      ) : null}
      {data && data.stories.length > 0 ? (
        <div className="board" data-testid="board">
          {data.columns.map((column) => {
            const cards = data.stories.filter((story) => story.column === column);
            return (
              <section className="board-column" key={column} data-testid={`column-${column}`}>
                <h2>
                  {COLUMN_LABELS[column]} <span className="muted">{cards.length}</span>
                </h2>
                <ul>
                  {cards.map((story) => (
                    <Card key={story.id} story={story} />
                  ))}
                </ul>
              </section>
            );
          })}
        </div>
      ) : null}
      {data?.next_cursor ? (
        <p>
          <button
            type="button"
            onClick={() => {
              shown.current.pages++;
              board.reload();
            }}
          >
            Older stories
          </button>{' '}
          <span className="muted">{data.stories.length} newest shown</span>
        </p>
      ) : null}
    </div>
  );
}

/** The board's first `pages` pages (newest stories first) as one board, following each page's cursor. */
async function loadBoardPages(search: string, pages: number): Promise<Board> {
  const url = (cursor: string | null) => {
    const query = new URLSearchParams(search);
    if (cursor) query.set('cursor', cursor);
    const text = query.toString();
    return `/api/story-board${text ? `?${text}` : ''}`;
  };
  const board = await api<Board>(url(null));
  for (let page = 1; page < pages && board.next_cursor; page++) {
    const older = await api<Board>(url(board.next_cursor));
    board.stories.push(...older.stories);
    board.next_cursor = older.next_cursor;
  }
  return board;
}
