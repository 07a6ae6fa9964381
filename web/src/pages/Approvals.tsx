/**
 * @module Approvals: the gates waiting for a human (pending first) with their Markdown body (agent-written, so
 * sanitized), a merge approval's gate results and diff (`MergeRequestView`), approve / reject-with-reason for
 * approvers and admins, and where the workflow went after a decision (with the deployment's outcome when done). A
 * publishing approval shows what would be published (`PublishPreview`; Approve waits while it is stale) and, once
 * decided, the project's status and what was published where (`ProjectOutcome`); a project approval links to its
 * project.
 */
import { useState } from 'react';
import type { Approval } from '../../../src/domain/approval-schema.js';
import type { ProjectDetail } from '../../../src/domain/project-schema.js';
import type { Story } from '../../../src/domain/story-schema.js';
import { api, canChange, type Me } from '../api.js';
import { Markdown } from '../Markdown.js';
import MergeRequestView from '../MergeRequestView.js';
import Publications from '../Publications.js';
import PublishPreview from '../PublishPreview.js';
import { Empty, ErrorNote, Link, Loading, navigate, Status, time, useLoad } from '../ui.js';

const STATUSES = ['pending', 'approved', 'rejected', 'deferred'];

/**
 * The workflow an approval belongs to, kept current by live events: shows where it went after a decision, and when
 * it stopped for a human, why (the summary holds an agent's blocked reason) and the branch a resume continues.
 */
function WorkflowStage({ id }: { id: number }) {
  const story = useLoad(
    () => api<Story>(`/api/stories/${id}`),
    [id],
    (e) => e.kind.startsWith('workflow.') || e.kind.startsWith('task.') || e.kind.startsWith('approval.'),
  );
  if (!story.data) return null;
  const { deployment, human_summary: summary, halt } = story.data;
  return (
    <>
      <p className="muted" data-testid={`workflow-${id}`}>
        Workflow #{id} is now at stage <strong>{story.data.stage}</strong> ({story.data.status}).
      </p>
      {story.data.status === 'waiting_for_human' && summary ? (
        <div className="halt" data-testid={`halt-${id}`}>
          <p>Waiting for a human:</p>
          <pre className="halt-summary">{summary}</pre>
          <p className="muted">
            Resume with <code>autodev stories resume {id} --note "..."</code>
            {halt?.branch ? (
              <>
                {' '}
                (continues branch <code>{halt.branch}</code>)
              </>
            ) : null}
            .
          </p>
        </div>
      ) : null}
      {deployment ? (
        <p className="deployment" data-testid={`deployment-${id}`}>
          Deployment: <Status value={deployment.outcome} /> {deployment.summary}
        </p>
      ) : null}
    </>
  );
}

/** A decided product approval: where its project went and, once published, the URL of each target (live). */
function ProjectOutcome({ id }: { id: string }) {
  const project = useLoad(
    () => api<ProjectDetail>(`/api/projects/${id}`),
    [id],
    (e) => e.kind.startsWith('project.') || e.kind.startsWith('workflow.') || e.kind.startsWith('task.'),
  );
  const p = project.data;
  if (!p) return null;
  return (
    <div className="project-outcome" data-testid={`project-outcome-${id}`}>
      <p className="muted">
        Project <Link to={`/projects/${p.id}`}>#{p.id}</Link> is now <Status value={p.status} />
      </p>
      {p.publications.length > 0 ? <Publications publications={p.publications} /> : null}
    </div>
  );
}

/** A decided merge approval keeps its evidence one click away; loaded only when opened. */
function DecidedMergeRequest({ id }: { id: number }) {
  const [open, setOpen] = useState(false);
  return (
    <details className="mr-history" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Diff and gate results of merge request #{id}</summary>
      {open ? <MergeRequestView id={id} /> : null}
    </details>
  );
}

/** A decided publishing approval keeps what it would have published one click away; loaded only when opened. */
function DecidedPublish({ id }: { id: number }) {
  const [open, setOpen] = useState(false);
  return (
    <details className="mr-history" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Listings, files and publish plans</summary>
      {open ? <PublishPreview id={id} /> : null}
    </details>
  );
}

function ApprovalCard({
  approval,
  me,
  onDone,
}: {
  approval: Approval;
  me: Me | null;
  onDone: (decided: Approval) => void;
}) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error>();
  const [previewStale, setPreviewStale] = useState(false);
  const decide = async (decision: 'approve' | 'reject') => {
    setError(undefined);
    if (decision === 'reject' && reason.trim() === '') {
      setError(new Error('A rejection needs a reason: the agent receives it.'));
      return;
    }
    try {
      const decided = await api<Approval>(`/api/approvals/${approval.id}/${decision}`, {
        method: 'POST',
        body: reason.trim() ? { reason: reason.trim() } : {},
      });
      onDone(decided);
    } catch (failure) {
      setError(failure as Error);
    }
  };
  return (
    <section className="card approval" data-testid={`approval-${approval.id}`}>
      <h2>
        #{approval.id} {approval.kind}: {approval.title} <Status value={approval.status} />
      </h2>
      <p className="muted">
        {approval.subject_type === 'task' ? (
          <Link to={`/tasks/${approval.subject_id}`}>task #{approval.subject_id}</Link>
        ) : approval.subject_type === 'project' ? (
          <Link to={`/projects/${approval.subject_id}`}>project #{approval.subject_id}</Link>
        ) : (
          `${approval.subject_type} ${approval.subject_id}`
        )}{' '}
        · asked {time(approval.created_at)}
        {approval.decided_by ? ` · ${approval.status} by ${approval.decided_by} ${time(approval.decided_at)}` : ''}
      </p>
      {approval.body ? <Markdown text={approval.body} /> : null}
      {approval.reason ? <p>Reason: {approval.reason}</p> : null}
      {approval.status !== 'pending' && approval.subject_type === 'project' ? (
        <ProjectOutcome id={approval.subject_id} />
      ) : approval.status !== 'pending' && approval.workflow_id !== null ? (
        <WorkflowStage id={approval.workflow_id} />
      ) : null}
      {approval.merge_request_id !== null ? (
        approval.status === 'pending' ? (
          <MergeRequestView id={approval.merge_request_id} />
        ) : (
          <DecidedMergeRequest id={approval.merge_request_id} />
        )
      ) : null}
      {approval.kind === 'publish' ? (
        approval.status === 'pending' ? (
          <PublishPreview id={approval.id} onStale={setPreviewStale} />
        ) : (
          <DecidedPublish id={approval.id} />
        )
      ) : null}
      {approval.kind === 'project' && approval.subject_type === 'project' ? (
        <p>
          <Link to={`/projects/${approval.subject_id}`}>
            Open project #{approval.subject_id}: proposal, spec and ratings
          </Link>
        </p>
      ) : null}
      {approval.status === 'pending' && canChange(me) ? (
        <div className="decide">
          <input
            value={reason}
            placeholder="Reason (required to reject; the agent receives it)"
            onChange={(e) => setReason(e.target.value)}
          />
          <button
            disabled={previewStale}
            title={previewStale ? 'The preview is stale: wait for the fresh one' : undefined}
            onClick={() => void decide('approve')}
          >
            Approve
          </button>
          <button className="danger" disabled={reason.trim() === ''} onClick={() => void decide('reject')}>
            Reject
          </button>
        </div>
      ) : null}
      <ErrorNote error={error} />
    </section>
  );
}

export default function Approvals({ me, query }: { me: Me | null; query: URLSearchParams }) {
  const status = query.get('status') ?? 'pending';
  const [decided, setDecided] = useState<Approval[]>([]);
  const list = useLoad(
    () => api<{ approvals: Approval[] }>(`/api/approvals${status ? `?status=${status}` : ''}`),
    [status],
    (e) => e.kind.startsWith('approval.') || e.kind.startsWith('workflow.'),
  );
  return (
    <div className="page">
      <h1>Approvals</h1>
      <div className="filters">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => navigate(`/approvals?status=${e.target.value}`)}>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        {canChange(me) ? null : <span className="muted">Viewer token: deciding needs an approver or admin token.</span>}
      </div>
      <ErrorNote error={list.error} />
      {!list.data && !list.error ? <Loading /> : null}
      {list.data && list.data.approvals.length === 0 ? (
        <Empty>
          No {status} approvals. Specs and merges wait here for a human once a story runs (
          <code>autodev stories create</code>).
        </Empty>
      ) : null}
      {decided.length > 0 ? <h2>Decided just now</h2> : null}
      {decided.map((approval) => (
        <ApprovalCard key={`decided-${approval.id}`} approval={approval} me={me} onDone={list.reload} />
      ))}
      {list.data?.approvals
        .filter((approval) => !decided.some((d) => d.id === approval.id))
        .map((approval) => (
          <ApprovalCard
            key={approval.id}
            approval={approval}
            me={me}
            onDone={(done) => {
              setDecided((before) => [done, ...before.filter((d) => d.id !== done.id)]);
              list.reload();
            }}
          />
        ))}
    </div>
  );
}
