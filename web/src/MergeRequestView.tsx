/**
 * @module A merge approval's evidence (`GET /api/merge-requests/:id`): three gate badges (tests with counts and
 * coverage, security clean / findings, review approve / changes requested), each opening to its findings and the
 * deterministic run's output tail; the earlier rounds' gates; the diff. Every string here is agent- or
 * repository-written and is rendered as text, never as HTML.
 */
import { useState } from 'react';
import type {
  MergeRequestGate as Gate,
  MergeRequestView as MergeRequest,
  SecretFinding,
} from '../../src/domain/merge-request-schema.js';
import { api } from './api.js';
import DiffView from './DiffView.js';
import { ErrorNote, Loading, useLoad } from './ui.js';
import './merge-request.css';

const short = (sha: string | null) => (sha ? sha.slice(0, 10) : '—');
const seconds = (ms: number | null) => (ms === null ? '' : ` in ${(ms / 1000).toFixed(1)} s`);

/** The badge's words: what a human reads before opening it. */
function gateLabel(gate: Gate): string {
  if (gate.passed === null) return gate.task_status ? `${gate.task_status.replace(/_/g, ' ')}` : 'did not run';
  if (gate.name === 'tests') {
    const run = gate.run?.kind === 'tests' ? gate.run : null;
    const counts = run?.counts ?? gate.agent_counts;
    const parts = [counts ? `${counts.passed} passed / ${counts.failed} failed` : gate.passed ? 'passed' : 'failed'];
    if (run?.coverage !== null && run?.coverage !== undefined) parts.push(`coverage ${run.coverage}%`);
    return parts.join(' · ');
  }
  if (gate.name === 'security') {
    if (gate.passed) return gate.run?.kind === 'secret_scan' && gate.run.squash ? 'clean head · will squash' : 'clean';
    return `${gate.findings.length} finding${gate.findings.length === 1 ? '' : 's'}`;
  }
  return gate.passed ? 'approve' : 'changes requested';
}

const TITLES: Record<Gate['name'], string> = { tests: 'Tests', security: 'Security', review: 'Review' };
const ORDER: Gate['name'][] = ['tests', 'security', 'review'];

/** Secret findings: where (file:line, and the commit that held it) and the rule, the value masked. */
function SecretList({ findings }: { findings: SecretFinding[] }) {
  if (findings.length === 0) return null;
  return (
    <ul className="gate-findings">
      {findings.map((f, i) => (
        <li key={i}>
          <code>
            {f.file}:{f.line}
          </code>
          {f.commit ? (
            <>
              {' '}
              in commit <code>{short(f.commit)}</code>
            </>
          ) : null}{' '}
          {f.rule}: {f.message}
        </li>
      ))}
    </ul>
  );
}

function GateDetail({ gate }: { gate: Gate }) {
  const run = gate.run;
  return (
    <div className="gate-detail" data-testid={`gate-detail-${gate.name}`}>
      <p className="muted">
        {gate.task_id !== null ? `Task #${gate.task_id}` : 'No task'}
        {gate.agent_verdict ? ` · agent verdict: ${gate.agent_verdict.replace(/_/g, ' ')}` : ''}
      </p>
      {gate.summary ? <p className="gate-summary">{gate.summary}</p> : null}
      {gate.findings.length > 0 ? (
        <ul className="gate-findings">
          {gate.findings.map((finding, i) => (
            <li key={i}>
              <pre>{finding}</pre>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No findings.</p>
      )}
      {run?.kind === 'tests' ? (
        <>
          <p>
            <code>{run.command}</code> on {short(run.commit)}: {run.passed ? 'passed' : 'failed'}
            {run.timed_out ? ' (timed out)' : run.exit_code !== null ? ` (exit ${run.exit_code})` : ''}
            {seconds(run.duration_ms)}
            {run.counts
              ? ` · ${run.counts.passed} passed, ${run.counts.failed} failed, ${run.counts.skipped} skipped (${run.counts.runner})`
              : ''}
            {run.coverage !== null
              ? ` · coverage ${run.coverage}%${run.coverage_threshold !== null ? ` (threshold ${run.coverage_threshold}%)` : ''}`
              : ''}
          </p>
          <OutputTail text={run.output_tail} />
        </>
      ) : null}
      {run?.kind === 'lint' ? (
        <>
          <p>
            <code>{run.command}</code> on {short(run.commit)}: {run.passed ? 'passed' : 'failed'}
            {run.timed_out ? ' (timed out)' : run.exit_code !== null ? ` (exit ${run.exit_code})` : ''}
            {seconds(run.duration_ms)}
          </p>
          <OutputTail text={run.output_tail} />
        </>
      ) : null}
      {run?.kind === 'secret_scan' ? (
        <>
          <p>
            {run.scanner}: {run.findings.length === 0 ? 'no secrets at the head' : `${run.findings.length} secret(s)`}
            {seconds(run.duration_ms)}
          </p>
          <SecretList findings={run.findings} />
          {run.squash ? (
            <p className="squash-note" data-testid="squash-note">
              The merge will squash the branch into one commit: {run.squash}.
            </p>
          ) : null}
          <SecretList findings={run.history_findings} />
        </>
      ) : null}
      {!run ? <p className="muted">No deterministic run for this gate (not configured for the repository).</p> : null}
    </div>
  );
}

function OutputTail({ text }: { text: string }) {
  if (!text.trim()) return <p className="muted">No output.</p>;
  return (
    <pre className="output-tail" data-testid="output-tail" tabIndex={0}>
      {text}
    </pre>
  );
}

/** Three badges; each opens its detail below the row. */
export function GateSummary({ gates, label }: { gates: Gate[]; label: string }) {
  const [open, setOpen] = useState<Gate['name'][]>([]);
  const sorted = ORDER.map((name) => gates.find((g) => g.name === name)).filter((g): g is Gate => g !== undefined);
  const toggle = (name: Gate['name']) =>
    setOpen((before) => (before.includes(name) ? before.filter((n) => n !== name) : [...before, name]));
  return (
    <div className="gates" aria-label={label}>
      <div className="gate-badges">
        {sorted.map((gate) => {
          const state = gate.passed === null ? 'none' : gate.passed ? 'pass' : 'fail';
          return (
            <button
              key={gate.name}
              type="button"
              className={`gate-badge gate-${state}`}
              aria-expanded={open.includes(gate.name)}
              data-testid={`gate-${gate.name}`}
              onClick={() => toggle(gate.name)}
            >
              <span className="gate-icon" aria-hidden="true">
                {state === 'pass' ? '✓' : state === 'fail' ? '✗' : '…'}
              </span>
              <strong>{TITLES[gate.name]}</strong> <span className="gate-label">{gateLabel(gate)}</span>
            </button>
          );
        })}
      </div>
      {sorted
        .filter((gate) => open.includes(gate.name))
        .map((gate) => (
          <GateDetail key={gate.name} gate={gate} />
        ))}
    </div>
  );
}

export default function MergeRequestView({ id }: { id: number }) {
  const mr = useLoad(
    () => api<MergeRequest>(`/api/merge-requests/${id}`),
    [id],
    (e) => e.kind.startsWith('task.') || e.kind.startsWith('merge_request.') || e.kind === 'workflow.advanced',
  );
  if (mr.error) return <ErrorNote error={mr.error} />;
  if (!mr.data) return <Loading />;
  const m = mr.data;
  return (
    <div className="merge-request" data-testid={`merge-request-${m.id}`}>
      <p className="muted mr-branches">
        Merge request #{m.id}
        {m.repo ? ` in ${m.repo.name}` : ''}: <code>{m.source_branch}</code> → <code>{m.target_branch}</code> ·{' '}
        {m.status}
        {' · '}head {short(m.head_sha)}, target {short(m.target_sha)}
        {m.merge_sha ? `, merged as ${short(m.merge_sha)}` : ''}
      </p>
      <h3>Gates{m.round !== null ? ` (round ${m.round})` : ''}</h3>
      <GateSummary gates={m.gates} label={`Gates of merge request ${m.id}`} />
      {m.earlier_rounds.length > 0 ? (
        <details className="earlier-rounds">
          <summary>Earlier rounds ({m.earlier_rounds.length}): what failed before the fix</summary>
          {m.earlier_rounds.map((r) => (
            <div key={r.round} className="earlier-round">
              <h4>Round {r.round}</h4>
              <GateSummary gates={r.gates} label={`Gates of round ${r.round}`} />
            </div>
          ))}
        </details>
      ) : null}
      {m.notes.length > 0 ? (
        <>
          <h3>Notes</h3>
          <ul className="mr-notes">
            {m.notes.map((note) => (
              <li key={note.id}>
                <strong>{note.author}</strong>
                {note.verdict ? ` (${note.verdict.replace(/_/g, ' ')})` : ''}:{' '}
                <span className="note-body">{note.body}</span>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      <h3>Changes</h3>
      {m.diff.error ? <p className="error-text">{m.diff.error}</p> : null}
      {m.diff.text !== null ? (
        <DiffView text={m.diff.text} truncated={m.diff.truncated} limitBytes={m.diff.limit_bytes} />
      ) : null}
    </div>
  );
}
