/**
 * @module Approvals: the gates waiting for a human (pending first) with their Markdown body (agent-written, so
 * sanitized), and approve / reject-with-reason for approvers and admins.
 */
import { useState } from 'react';
import { api, canChange, type Me } from '../api.js';
import { Markdown } from '../Markdown.js';
import { Empty, ErrorNote, Link, Loading, navigate, Status, time, useLoad } from '../ui.js';

interface Approval {
  id: number;
  kind: string;
  status: string;
  subject_type: string;
  subject_id: string;
  title: string;
  body: string;
  workflow_id: number | null;
  decided_by: string | null;
  reason: string | null;
  decided_at: number | null;
  created_at: number;
}

const STATUSES = ['pending', 'approved', 'rejected', 'deferred'];
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function ApprovalCard({ approval, me, onDone }: { approval: Approval; me: Me | null; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error>();
  const decide = async (decision: 'approve' | 'reject') => {
    setError(undefined);
    try {
      await api(`/api/approvals/${approval.id}/${decision}`, {
        method: 'POST',
        body: reason.trim() ? { reason: reason.trim() } : {},
      });
      onDone();
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
        ) : (
          `${approval.subject_type} ${approval.subject_id}`
        )}{' '}
        · asked {time(iso(approval.created_at))}
        {approval.decided_by ? ` · ${approval.status} by ${approval.decided_by} ${time(iso(approval.decided_at))}` : ''}
      </p>
      {approval.body ? <Markdown text={approval.body} /> : null}
      {approval.reason ? <p>Reason: {approval.reason}</p> : null}
      {approval.status === 'pending' && canChange(me) ? (
        <div className="decide">
          <input
            value={reason}
            placeholder="Reason (required to reject; the agent receives it)"
            onChange={(e) => setReason(e.target.value)}
          />
          <button onClick={() => void decide('approve')}>Approve</button>
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
      {list.data?.approvals.map((approval) => (
        <ApprovalCard key={approval.id} approval={approval} me={me} onDone={list.reload} />
      ))}
    </div>
  );
}
