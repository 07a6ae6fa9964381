/**
 * @module The swarm: discussion threads (filter by topic, kept in the address as `?topic=`; replies under the message
 * they answer) and proposals with their votes, status and decision (filter `?proposals=open|approved|rejected`).
 * Approvers and admins post, reply, propose, vote, and approve (the story or build_product task it started is
 * linked) or reject (with a reason, kept). Agents and people write every body, so it goes through the sanitized
 * Markdown component. Refreshes when a discussion is posted or a proposal changes.
 */
import { useState } from 'react';
import { api, canChange, type Discussion, type DiscussionsResponse, type Me, type Proposal } from '../api.js';
import { Markdown } from '../Markdown.js';
import { ago, Empty, ErrorNote, Link, Loading, navigate, Status, time, useLoad, useSend } from '../ui.js';

const PROPOSAL_STATUSES = ['open', 'approved', 'rejected'];

function swarmUrl(query: URLSearchParams, change: Record<string, string | null>): string {
  const next = new URLSearchParams(query);
  for (const [key, value] of Object.entries(change)) {
    if (value === null) next.delete(key);
    else next.set(key, value);
  }
  const text = next.toString();
  return text ? `/swarm?${text}` : '/swarm';
}

function Votes({ proposal }: { proposal: Proposal }) {
  const total = proposal.votes_for + proposal.votes_against;
  const share = total === 0 ? 0 : (proposal.votes_for / total) * 100;
  return (
    <div className="votes" aria-label={`${proposal.votes_for} votes for, ${proposal.votes_against} against`}>
      <span className="ok">▲ {proposal.votes_for} for</span>{' '}
      <span className="error-text">▼ {proposal.votes_against} against</span>
      <div className={total === 0 ? 'vote-bar no-votes' : 'vote-bar'} aria-hidden="true">
        <div style={{ width: `${share}%` }} />
      </div>
    </div>
  );
}

function PostForm({ topic, onPosted }: { topic: string | null; onPosted: () => void }) {
  const [newTopic, setNewTopic] = useState(topic ?? '');
  const [body, setBody] = useState('');
  const { error, busy, run } = useSend(async () => {
    await api<Discussion>('/api/discussions', { method: 'POST', body: { topic: newTopic.trim(), body: body.trim() } });
    setBody('');
    onPosted();
  });
  return (
    <form
      className="card post-form"
      aria-label="New message"
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <input
        aria-label="Topic"
        placeholder="Topic, e.g. repo:shop or market-strategy"
        value={newTopic}
        maxLength={100}
        onChange={(e) => setNewTopic(e.target.value)}
      />
      <textarea
        aria-label="Message"
        placeholder="Message (markdown)"
        value={body}
        rows={3}
        onChange={(e) => setBody(e.target.value)}
      />
      <button type="submit" disabled={busy || newTopic.trim() === '' || body.trim() === ''}>
        Post
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

function ReplyForm({ to, onPosted }: { to: Discussion; onPosted: () => void }) {
  const [open, setOpen] = useState(false);
  const [body, setBody] = useState('');
  const { error, busy, run } = useSend(async () => {
    await api<Discussion>('/api/discussions', { method: 'POST', body: { reply_to: to.id, body: body.trim() } });
    setBody('');
    setOpen(false);
    onPosted();
  });
  if (!open) {
    return (
      <button className="link-button" onClick={() => setOpen(true)} aria-label={`Reply to message ${to.id}`}>
        Reply
      </button>
    );
  }
  return (
    <form
      className="reply-form"
      aria-label={`Reply to message ${to.id}`}
      onSubmit={(e) => {
        e.preventDefault();
        void run();
      }}
    >
      <textarea
        aria-label="Reply"
        placeholder="Your reply (markdown)"
        value={body}
        rows={2}
        onChange={(e) => setBody(e.target.value)}
      />
      <button type="submit" disabled={busy || body.trim() === ''}>
        Send reply
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

function Message({
  message,
  query,
  me,
  onPosted,
}: {
  message: Discussion;
  query: URLSearchParams;
  me: Me | null;
  onPosted: () => void;
}) {
  return (
    <li className="discussion" data-testid={`discussion-${message.id}`}>
      <div className="discussion-head">
        <Link to={swarmUrl(query, { topic: message.topic })} className="topic">
          {message.topic}
        </Link>{' '}
        <b>{message.author}</b>
        {message.author_kind === 'human' ? <span className="muted"> (human)</span> : null}{' '}
        <span className="muted" title={time(message.created_at)}>
          {ago(message.created_at)}
        </span>{' '}
        <span className="muted">#{message.id}</span>
      </div>
      <Markdown text={message.body} />
      {canChange(me) ? <ReplyForm to={message} onPosted={onPosted} /> : null}
    </li>
  );
}

function Thread(props: {
  message: Discussion;
  byParent: Map<number, Discussion[]>;
  query: URLSearchParams;
  me: Me | null;
  onPosted: () => void;
}) {
  const replies = props.byParent.get(props.message.id) ?? [];
  return (
    <>
      <Message message={props.message} query={props.query} me={props.me} onPosted={props.onPosted} />
      {replies.length > 0 ? (
        <li className="replies">
          <ol className="discussion-list" aria-label={`Replies to message ${props.message.id}`}>
            {replies.map((reply) => (
              <Thread key={reply.id} {...props} message={reply} />
            ))}
          </ol>
        </li>
      ) : null}
    </>
  );
}

function Discussions({ query, me }: { query: URLSearchParams; me: Me | null }) {
  const topic = query.get('topic');
  const discussions = useLoad(
    () => api<DiscussionsResponse>(`/api/discussions?recent=100${topic ? `&topic=${encodeURIComponent(topic)}` : ''}`),
    [topic],
    (e) => e.kind.startsWith('discussion.'),
  );
  const data = discussions.data;
  const total = data?.topics.reduce((sum, t) => sum + t.messages, 0) ?? 0;
  // Threads: oldest first, each reply under the message it answers when that message is on the page.
  const ordered = [...(data?.discussions ?? [])].sort((a, b) => a.id - b.id);
  const onPage = new Set(ordered.map((d) => d.id));
  const byParent = new Map<number, Discussion[]>();
  const roots: Discussion[] = [];
  for (const d of ordered) {
    if (d.reply_to !== null && onPage.has(d.reply_to))
      byParent.set(d.reply_to, [...(byParent.get(d.reply_to) ?? []), d]);
    else roots.push(d);
  }
  roots.reverse();
  return (
    <section aria-label="Discussions" className="swarm-discussions">
      <h2>Discussions</h2>
      <ErrorNote error={discussions.error} />
      {canChange(me) ? <PostForm key={topic ?? ''} topic={topic} onPosted={discussions.reload} /> : null}
      {data && data.topics.length > 0 ? (
        <nav className="chips" aria-label="Topics">
          <Link to={swarmUrl(query, { topic: null })} className={topic === null ? 'chip active' : 'chip'}>
            All <span className="muted">{total}</span>
          </Link>
          {data.topics.map((t) => (
            <Link
              key={t.topic}
              to={swarmUrl(query, { topic: t.topic })}
              className={topic === t.topic ? 'chip active' : 'chip'}
            >
              {t.topic} <span className="muted">{t.messages}</span>
            </Link>
          ))}
        </nav>
      ) : null}
      {!data ? (
        !discussions.error && <Loading />
      ) : data.discussions.length === 0 ? (
        <Empty>
          {topic ? (
            <>
              No messages on “{topic}”. <Link to={swarmUrl(query, { topic: null })}>Show every topic</Link>.
            </>
          ) : (
            <>
              No discussions yet: agents post here with the <code>post_discussion</code> tool when they find something
              that matters beyond their task (a question, a risk, a proposal). New posts appear without a reload.
            </>
          )}
        </Empty>
      ) : (
        <ol className="discussion-list">
          {roots.map((d) => (
            <Thread key={d.id} message={d} byParent={byParent} query={query} me={me} onPosted={discussions.reload} />
          ))}
        </ol>
      )}
    </section>
  );
}

function ProposeForm({ onDone }: { onDone: () => void }) {
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const [kind, setKind] = useState<'story' | 'product'>('story');
  const [repo, setRepo] = useState('');
  const { error, busy, run } = useSend(async () => {
    const sent = { title, body };
    await api<Proposal>('/api/proposals', {
      method: 'POST',
      body: {
        title: title.trim(),
        body: body.trim(),
        kind,
        ...(repo.trim() && kind === 'story' ? { repo: repo.trim() } : {}),
      },
    });
    // The live event can show the new card before this answer arrives, and someone may already be typing the next
    // proposal: clear only what was sent.
    setTitle((current) => (current === sent.title ? '' : current));
    setBody((current) => (current === sent.body ? '' : current));
    onDone();
  });
  return (
    <details className="card propose">
      <summary>Propose something</summary>
      <form
        aria-label="New proposal"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <input aria-label="Title" placeholder="Title" value={title} onChange={(e) => setTitle(e.target.value)} />
        <textarea
          aria-label="Why and what"
          placeholder="Why and what (markdown)"
          value={body}
          rows={3}
          onChange={(e) => setBody(e.target.value)}
        />
        <select aria-label="Kind" value={kind} onChange={(e) => setKind(e.target.value as 'story' | 'product')}>
          <option value="story">story (on a repository)</option>
          <option value="product">product</option>
        </select>
        {kind === 'story' ? (
          <input
            aria-label="Repository"
            placeholder="Repository (optional)"
            value={repo}
            onChange={(e) => setRepo(e.target.value)}
          />
        ) : null}
        <button type="submit" disabled={busy || title.trim() === '' || body.trim() === ''}>
          Propose
        </button>
        <ErrorNote error={error} />
      </form>
    </details>
  );
}

function ProposalActions({ proposal, onDone }: { proposal: Proposal; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [repo, setRepo] = useState('');
  const post = (action: string, body: Record<string, unknown>) =>
    api<Proposal>(`/api/proposals/${proposal.id}/${action}`, { method: 'POST', body });
  const act = async (action: 'up' | 'down' | 'approve' | 'reject') => {
    const note = reason.trim();
    if (action === 'up' || action === 'down') await post('vote', { vote: action, ...(note ? { reason: note } : {}) });
    else if (action === 'reject') await post('reject', { reason: note });
    else await post('approve', { ...(note ? { reason: note } : {}), ...(repo.trim() ? { repo: repo.trim() } : {}) });
    setReason('');
    onDone();
  };
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const run = (action: 'up' | 'down' | 'approve' | 'reject') => {
    setError(undefined);
    setBusy(true);
    act(action)
      .catch((failure: unknown) => setError(failure as Error))
      .finally(() => setBusy(false));
  };
  return (
    <div className="decide">
      <input
        aria-label={`Reason for proposal ${proposal.id}`}
        value={reason}
        placeholder="Reason (required to reject; kept with a vote or decision)"
        onChange={(e) => setReason(e.target.value)}
      />
      {proposal.kind === 'story' && proposal.repo_id === null ? (
        <input
          aria-label={`Repository for proposal ${proposal.id}`}
          value={repo}
          placeholder="Repository the story runs on"
          onChange={(e) => setRepo(e.target.value)}
        />
      ) : null}
      <button disabled={busy} onClick={() => run('up')}>
        ▲ Vote up
      </button>
      <button disabled={busy} onClick={() => run('down')}>
        ▼ Vote down
      </button>
      <button disabled={busy} onClick={() => run('approve')}>
        Approve
      </button>
      <button className="danger" disabled={busy || reason.trim() === ''} onClick={() => run('reject')}>
        Reject
      </button>
      <ErrorNote error={error} />
    </div>
  );
}

function ProposalCard({ proposal: p, me, onDone }: { proposal: Proposal; me: Me | null; onDone: () => void }) {
  return (
    <article className="card proposal" data-testid={`proposal-${p.id}`}>
      <h3>
        {p.title} <Status value={p.status} /> <span className="muted">{p.kind}</span>
      </h3>
      <Votes proposal={p} />
      <p className="muted">
        #{p.id} by {p.author}, {time(p.created_at)}
        {p.updated_at !== p.created_at ? `, updated ${ago(p.updated_at)}` : ''}
      </p>
      <Markdown text={p.body} />
      {p.votes.length > 0 ? (
        <ul className="vote-list" aria-label={`Votes on proposal ${p.id}`}>
          {p.votes.map((v) => (
            <li key={v.voter}>
              {v.vote === 'up' ? '▲' : '▼'} {v.voter}
              {v.reason ? `: ${v.reason}` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      {p.status !== 'open' ? (
        <p className="decision" data-testid={`decision-${p.id}`}>
          {p.status} by {p.decided_by} {time(p.decided_at)}
          {p.reason ? ` — ${p.status === 'rejected' ? 'reason' : 'note'}: ${p.reason}` : ''}
          {p.workflow_id !== null ? (
            <>
              {' '}
              · <Link to="/approvals">story #{p.workflow_id}</Link> started
            </>
          ) : null}
          {p.task_id !== null ? (
            <>
              {' '}
              · <Link to={`/tasks/${p.task_id}`}>build_product task #{p.task_id}</Link> queued
            </>
          ) : null}
        </p>
      ) : canChange(me) ? (
        <ProposalActions proposal={p} onDone={onDone} />
      ) : null}
    </article>
  );
}

function Proposals({ query, me }: { query: URLSearchParams; me: Me | null }) {
  const status = query.get('proposals');
  const filter = status && PROPOSAL_STATUSES.includes(status) ? status : null;
  const proposals = useLoad(
    () => api<{ proposals: Proposal[] }>(`/api/proposals${filter ? `?status=${filter}` : ''}`),
    [filter],
    (e) => e.kind.startsWith('proposal.'),
  );
  return (
    <section aria-label="Proposals" className="swarm-proposals">
      <h2>Proposals</h2>
      {canChange(me) ? <ProposeForm onDone={proposals.reload} /> : null}
      <div className="filters">
        <label htmlFor="proposal-status">Status</label>
        <select
          id="proposal-status"
          value={filter ?? ''}
          onChange={(e) => {
            navigate(swarmUrl(query, { proposals: e.target.value || null }));
          }}
        >
          <option value="">all</option>
          {PROPOSAL_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <ErrorNote error={proposals.error} />
      {!proposals.data ? (
        !proposals.error && <Loading />
      ) : proposals.data.proposals.length === 0 ? (
        <Empty>
          {filter
            ? `No ${filter} proposals.`
            : 'No proposals yet. Agents file them with the propose tool (people with the form above or ' +
              '"autodev swarm propose"); an approved one becomes a story or a build_product task.'}
        </Empty>
      ) : (
        proposals.data.proposals.map((p) => <ProposalCard key={p.id} proposal={p} me={me} onDone={proposals.reload} />)
      )}
    </section>
  );
}

export default function Swarm({ me, query }: { me: Me | null; query: URLSearchParams }) {
  return (
    <div className="page">
      <h1>Swarm</h1>
      <p className="muted">
        What the agents and people discuss and propose. Messages and proposals are written by agents or people: read
        them as information.
        {canChange(me) ? null : ' Viewer token: posting, voting and deciding need an approver or admin token.'}
      </p>
      <div className="swarm">
        <Discussions query={query} me={me} />
        <Proposals query={query} me={me} />
      </div>
    </div>
  );
}
