/**
 * @module One story's whole life (`/stories/:id`): each stage with its tasks and their sessions (each opens its live
 * transcript), the gate rounds with verdicts and findings, the approvals with who decided and why (approve / reject
 * when pending, for approvers), the merge request with its diff (`MergeRequestView`), the commits and the merge
 * commit, the deployment's outcome, tokens and cost per role and in total, and, when it stopped, the summary with
 * "resume with a note", and "cancel story". Live over the event stream.
 */
import { useState } from 'react';
import type { StoryTimeline } from '../../../src/domain/story-board-schema.js';
import { api, canChange, type Me } from '../api.js';
import MergeRequestView from '../MergeRequestView.js';
import { ErrorNote, Link, Loading, Status, time, useLoad } from '../ui.js';
import { usd } from './StoryBoard.js';

type Approval = StoryTimeline['approvals'][number];

function Decide({ approval, onDone }: { approval: Approval; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error>();
  const decide = (decision: 'approve' | 'reject') => {
    setError(undefined);
    api(`/api/approvals/${approval.id}/${decision}`, {
      method: 'POST',
      body: reason.trim() ? { reason: reason.trim() } : {},
    }).then(onDone, (failure: Error) => setError(failure));
  };
  return (
    <div className="decide">
      <input
        value={reason}
        placeholder="Reason (required to reject; the agent receives it)"
        onChange={(e) => setReason(e.target.value)}
      />
      <button onClick={() => decide('approve')}>Approve</button>
      <button className="danger" disabled={reason.trim() === ''} onClick={() => decide('reject')}>
        Reject
      </button>
      <ErrorNote error={error} />
    </div>
  );
}

function Resume({ id, onDone }: { id: number; onDone: () => void }) {
  const [note, setNote] = useState('');
  const [error, setError] = useState<Error>();
  return (
    <div className="decide">
      <input value={note} placeholder="A note for the agents (optional)" onChange={(e) => setNote(e.target.value)} />
      <button
        onClick={() =>
          api(`/api/stories/${id}/resume`, { method: 'POST', body: note.trim() ? { note: note.trim() } : {} }).then(
            onDone,
            (failure: Error) => setError(failure),
          )
        }
      >
        Resume with this note
      </button>
      <ErrorNote error={error} />
    </div>
  );
}

function CancelStory({ id, onDone }: { id: number; onDone: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error>();
  if (!confirming) {
    return (
      <button className="danger" onClick={() => setConfirming(true)}>
        Cancel story
      </button>
    );
  }
  return (
    <div className="decide">
      <input value={reason} placeholder="Why (optional)" onChange={(e) => setReason(e.target.value)} />
      <button
        className="danger"
        onClick={() =>
          api(`/api/stories/${id}/cancel`, {
            method: 'POST',
            body: reason.trim() ? { reason: reason.trim() } : {},
          }).then(onDone, (failure: Error) => setError(failure))
        }
      >
        Cancel this story
      </button>
      <button onClick={() => setConfirming(false)}>Keep it</button>
      <ErrorNote error={error} />
    </div>
  );
}

export default function StoryPage({ id, me }: { id: number; me: Me }) {
  const story = useLoad(
    () => api<StoryTimeline>(`/api/stories/${id}/timeline`),
    [id],
    (e) =>
      e.kind.startsWith('workflow.') ||
      e.kind.startsWith('task.') ||
      e.kind.startsWith('approval.') ||
      e.kind.startsWith('session.') ||
      e.kind.startsWith('merge_request.'),
  );
  const s = story.data;
  if (!s) {
    return (
      <div className="page">
        <ErrorNote error={story.error} />
        {story.error ? null : <Loading />}
      </div>
    );
  }
  const pendingApproval = s.approvals.find((a) => a.status === 'pending');
  const mr = s.merge_requests.at(-1);
  return (
    <div className="page story-page" data-testid="story-page">
      <p className="muted">
        <Link to="/stories">Stories</Link> / #{s.id}
      </p>
      <h1>
        {s.title} <Status value={s.status} />
      </h1>
      <p className="muted">
        {s.repo ?? 'no repository'} · stage <strong data-testid="story-column">{s.column.replace(/_/g, ' ')}</strong>
        {s.round > 0 ? ` · fix round ${s.round}` : ''} · started {time(s.created_at)}
        {s.branch ? (
          <>
            {' '}
            · branch <code>{s.branch}</code>
          </>
        ) : null}
      </p>

      {s.status === 'waiting_for_human' ? (
        <section className="card halt" data-testid="halt">
          <h2>Stopped: a human is needed</h2>
          {s.human_summary ? <pre className="halt-summary">{s.human_summary}</pre> : null}
          {s.halt_reason ? <p>Reason: {s.halt_reason}</p> : null}
          {canChange(me) ? <Resume id={s.id} onDone={story.reload} /> : null}
        </section>
      ) : null}
      {canChange(me) && (s.status === 'running' || s.status === 'waiting_for_human') ? (
        <CancelStory id={s.id} onDone={story.reload} />
      ) : null}

      {pendingApproval ? (
        <section className="card approval" data-testid={`story-approval-${pendingApproval.id}`}>
          <h2>
            {pendingApproval.kind} approval: {pendingApproval.title}
          </h2>
          {canChange(me) ? (
            <Decide approval={pendingApproval} onDone={story.reload} />
          ) : (
            <p className="muted">Deciding needs an approver or admin token.</p>
          )}
        </section>
      ) : null}

      <h2>Timeline</h2>
      <p>
        <Link to={`/tasks?story=${s.id}`}>All tasks of this story</Link>
      </p>
      <ol className="timeline" data-testid="timeline">
        {s.stages.map((stage) => (
          <li
            key={stage.stage}
            className={`stage ${stage.reached ? 'reached' : 'ahead'} ${stage.stage === s.column ? 'current' : ''}`}
            data-testid={`stage-${stage.stage}`}
          >
            <b>{stage.stage.replace(/_/g, ' ')}</b>
            {stage.tasks.length > 0 ? (
              <ul>
                {stage.tasks.map((task) => (
                  <li key={task.id}>
                    <Link to={`/tasks/${task.id}`}>
                      #{task.id} {task.type}
                    </Link>{' '}
                    <span className="muted">{task.role}</span> <Status value={task.status} />
                    {task.round !== null && task.round > 0 ? <span className="muted"> round {task.round}</span> : null}
                    {task.error ? <div className="error">{task.error}</div> : null}
                    {task.sessions.map((session) => (
                      <div key={session.id} className="muted">
                        <Link to={`/sessions/${session.id}`}>session #{session.id}</Link> {session.provider} ·{' '}
                        {session.status} · {session.tokens} tokens · {usd(session.cost_usd)}
                      </div>
                    ))}
                  </li>
                ))}
              </ul>
            ) : null}
          </li>
        ))}
      </ol>

      {s.gates.length > 0 ? (
        <>
          <h2>Gate rounds</h2>
          <div className="table-box">
            <table data-testid="gate-rounds">
              <thead>
                <tr>
                  <th>Round</th>
                  <th>Gate</th>
                  <th>Verdict</th>
                  <th>Findings</th>
                </tr>
              </thead>
              <tbody>
                {s.gates.map((gate) => (
                  <tr key={gate.task_id}>
                    <td>{gate.round}</td>
                    <td>{gate.gate}</td>
                    <td>{gate.passed === null ? 'running' : gate.passed ? 'passed' : 'failed'}</td>
                    <td>
                      {gate.findings.length ? (
                        <ul>
                          {gate.findings.map((finding, index) => (
                            <li key={index}>{finding}</li>
                          ))}
                        </ul>
                      ) : (
                        '—'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}

      <h2>Approvals</h2>
      {s.approvals.length === 0 ? <p className="muted">None yet.</p> : null}
      <ul data-testid="approvals">
        {s.approvals.map((a) => (
          <li key={a.id}>
            {a.kind}: {a.title} <Status value={a.status} />
            {a.decided_by ? (
              <span className="muted">
                {' '}
                by {a.decided_by} {time(a.decided_at)}
                {a.reason ? ` — ${a.reason}` : ''}
              </span>
            ) : null}
          </li>
        ))}
      </ul>

      {s.commits.length > 0 || mr?.merge_sha ? (
        <>
          <h2>Commits</h2>
          <ul className="mono" data-testid="commits">
            {s.commits.map((sha) => (
              <li key={sha}>{sha.slice(0, 12)}</li>
            ))}
            {mr?.merge_sha ? <li>merge commit {mr.merge_sha.slice(0, 12)}</li> : null}
          </ul>
        </>
      ) : null}

      {mr ? (
        <>
          <h2>
            Merge request #{mr.id} <Status value={mr.status} />
          </h2>
          <MergeRequestView id={mr.id} />
        </>
      ) : null}

      {s.deployment ? (
        <p className="deployment" data-testid="deployment">
          Deployment: <Status value={s.deployment.outcome} /> {s.deployment.summary}
        </p>
      ) : null}

      <h2>Cost</h2>
      <div className="table-box">
        <table data-testid="cost">
          <thead>
            <tr>
              <th>Role</th>
              <th>Tokens</th>
              <th>Cost</th>
            </tr>
          </thead>
          <tbody>
            {s.cost.by_role.map((row) => (
              <tr key={row.role}>
                <td>{row.role}</td>
                <td>{row.tokens}</td>
                <td>{usd(row.cost_usd)}</td>
              </tr>
            ))}
            <tr>
              <th>Total</th>
              <th>{s.cost.total_tokens}</th>
              <th>{usd(s.cost.total_usd)}</th>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  );
}
