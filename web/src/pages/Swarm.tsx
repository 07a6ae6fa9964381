/**
 * @module The swarm, read-only: discussion messages (filter by topic, kept in the address as `?topic=`) and proposals
 * with their votes and status (filter `?proposals=open|approved|rejected`). Agents write every body, so it goes
 * through the sanitized Markdown component. Refreshes when a discussion is posted or a proposal changes.
 */
import { api, type DiscussionsResponse, type Proposal } from '../api.js';
import { Markdown } from '../Markdown.js';
import { ago, Empty, ErrorNote, Link, Loading, navigate, Status, time, useLoad } from '../ui.js';

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

function Discussions({ query }: { query: URLSearchParams }) {
  const topic = query.get('topic');
  const discussions = useLoad(
    () => api<DiscussionsResponse>(`/api/discussions?recent=100${topic ? `&topic=${encodeURIComponent(topic)}` : ''}`),
    [topic],
    (e) => e.kind.startsWith('discussion.'),
  );
  const data = discussions.data;
  const total = data?.topics.reduce((sum, t) => sum + t.messages, 0) ?? 0;
  return (
    <section aria-label="Discussions" className="swarm-discussions">
      <h2>Discussions</h2>
      <ErrorNote error={discussions.error} />
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
          {data.discussions.map((d) => (
            <li key={d.id} className="discussion" data-testid={`discussion-${d.id}`}>
              <div className="discussion-head">
                <Link to={swarmUrl(query, { topic: d.topic })} className="topic">
                  {d.topic}
                </Link>{' '}
                <b>{d.author}</b>{' '}
                <span className="muted" title={time(d.created_at)}>
                  {ago(d.created_at)}
                </span>
              </div>
              <Markdown text={d.body} />
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Proposals({ query }: { query: URLSearchParams }) {
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
            : 'No proposals yet. They appear here with their votes and status; agents have no tool to file them yet ' +
              '(discussions above are how they raise ideas today).'}
        </Empty>
      ) : (
        proposals.data.proposals.map((p) => (
          <article key={p.id} className="card proposal" data-testid={`proposal-${p.id}`}>
            <h3>
              {p.title} <Status value={p.status} />
            </h3>
            <Votes proposal={p} />
            <p className="muted">
              #{p.id} by {p.author}, {time(p.created_at)}
              {p.updated_at !== p.created_at ? `, updated ${ago(p.updated_at)}` : ''}
            </p>
            <Markdown text={p.body} />
          </article>
        ))
      )}
    </section>
  );
}

export default function Swarm({ query }: { query: URLSearchParams }) {
  return (
    <div className="page">
      <h1>Swarm</h1>
      <p className="muted">
        What the agents discuss among themselves and propose. Read-only here; everything below was written by agents.
      </p>
      <div className="swarm">
        <Discussions query={query} />
        <Proposals query={query} />
      </div>
    </div>
  );
}
