/**
 * @module Projects: the product pipeline's proposals. `/projects` lists them (status, ratings, estimated tokens;
 * filter by status); `/projects/:id` shows one: problem, audience, the spec (agent-written Markdown, sanitized), the
 * four ratings with their reasons and who gave each (the PM the market, the Architect the rest), the Architect's
 * assessment (verdict, estimate, approach, concerns; pending or failed with why, and asked again), every decision, the repository and story building it, and what was published
 * where. Approvers and admins approve, reject (a reason is required) or defer (notes, an optional date) a proposal.
 */
import { useState } from 'react';
import type {
  ProjectAssessment,
  ProjectDetail,
  ProjectList,
  ProjectRatings,
  ProjectStatus,
  ProjectSummary,
  RatingName,
} from '../../../src/domain/project-schema.js';
import { api, canChange, type Me } from '../api.js';
import { Markdown } from '../Markdown.js';
import Publications from '../Publications.js';
import { Empty, ErrorNote, Link, Loading, navigate, Status, time, useLoad, useSend } from '../ui.js';

/** The filter's statuses, in the order a project moves (`satisfies`: the compiler names one the schema adds). */
const STATUSES = Object.keys({
  proposed: true,
  deferred: true,
  rejected: true,
  building: true,
  awaiting_publish: true,
  publishing: true,
  published: true,
  publish_rejected: true,
  failed: true,
} satisfies Record<ProjectStatus, true>) as ProjectStatus[];
const RATINGS: RatingName[] = ['market', 'feasibility', 'effort', 'risk'];

const isProjectEvent = (kind: string) =>
  kind.startsWith('project.') || kind.startsWith('approval.') || kind.startsWith('workflow.');

const tokens = (n: number) => new Intl.NumberFormat().format(n);

const RATERS = { pm: 'PM', architect: 'Architect' } as const;

/** The four scores in one line: `market 7 · feasibility 8 · effort 5 · risk 6` (`—` while the Architect's is out). */
function RatingLine({ ratings }: { ratings: ProjectRatings }) {
  return (
    <span className="rating-line">
      {RATINGS.map((name) => {
        const rating = ratings[name];
        return (
          <span
            key={name}
            title={rating ? `${RATERS[rating.by]}: ${rating.reason}` : "awaiting the Architect's rating"}
          >
            {name} <b>{rating ? rating.score : '—'}</b>
          </span>
        );
      })}
    </span>
  );
}

/** The Architect's assessment: pending, failed (why, and ask again), or its verdict, estimate, approach, concerns. */
function Assessment({
  project,
  assessment: a,
  canAct,
  onDone,
}: {
  project: ProjectDetail;
  assessment: ProjectAssessment;
  canAct: boolean;
  onDone: () => void;
}) {
  const {
    error,
    busy,
    run: askAgain,
  } = useSend(async () => {
    await api(`/api/projects/${project.id}/publish-retry`, { method: 'POST' });
    onDone();
  });
  return (
    <section className="card assessment" data-testid="assessment">
      <h2>Architect's assessment</h2>
      {a.status === 'pending' ? (
        <p className="muted">The Architect is assessing the spec; the decision opens when its assessment is in.</p>
      ) : null}
      {a.status === 'none' ? (
        <p className="muted">Proposed before the Architect's step: the PM rated all four.</p>
      ) : null}
      {a.status === 'failed' ? (
        <>
          <p role="alert" className="error-text">
            The assessment failed: {a.error}
          </p>
          {canAct ? (
            <button disabled={busy} onClick={() => void askAgain()}>
              Ask the Architect again
            </button>
          ) : null}
          <ErrorNote error={error} />
        </>
      ) : null}
      {a.status === 'done' ? (
        <>
          <p>
            <Status value={a.verdict ?? 'unknown'} /> by {a.by} {a.at ? `· ${time(a.at)}` : ''}
          </p>
          {a.estimate ? (
            <p>
              Estimate: {a.estimate.duration}, about {tokens(a.estimate.tokens)} tokens
            </p>
          ) : null}
          {a.concerns.length > 0 ? (
            <ul className="concerns">
              {a.concerns.map((c, index) => (
                <li key={index} className="prose">
                  {c}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">No concerns.</p>
          )}
          {a.approach ? <Markdown text={a.approach} /> : null}
        </>
      ) : null}
    </section>
  );
}

function ProjectRow({ project }: { project: ProjectSummary }) {
  return (
    <li className="card project-row" data-testid={`project-${project.id}`}>
      <h2>
        <Link to={`/projects/${project.id}`}>
          #{project.id} {project.title}
        </Link>{' '}
        <Status value={project.status} />
      </h2>
      <p className="muted">
        <code>{project.name}</code> · {project.targets.join(', ') || 'no target'} · about{' '}
        {tokens(project.estimated_tokens)} tokens to build · proposed {time(project.created_at)}
        {project.deferred_until ? ` · deferred until ${time(project.deferred_until)}` : ''}
      </p>
      <RatingLine ratings={project.ratings} />
    </li>
  );
}

function ProjectList({ me, query }: { me: Me | null; query: URLSearchParams }) {
  const status = query.get('status') ?? '';
  const list = useLoad(
    () => api<ProjectList>(`/api/projects${status ? `?status=${encodeURIComponent(status)}` : ''}`),
    [status],
    (e) => isProjectEvent(e.kind),
  );
  return (
    <div className="page projects">
      <h1>Projects</h1>
      <div className="filters">
        <label>
          Status{' '}
          <select
            value={status}
            onChange={(e) => navigate(e.target.value ? `/projects?status=${e.target.value}` : '/projects')}
          >
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </label>
        {canChange(me) ? null : <span className="muted">Viewer token: deciding needs an approver or admin token.</span>}
      </div>
      <ErrorNote error={list.error} />
      {!list.data && !list.error ? <Loading /> : null}
      {list.data && list.data.projects.length === 0 ? (
        <Empty>
          No {status ? status.replace(/_/g, ' ') : ''} projects. The PM proposes one from an idea (a{' '}
          <code>build_product</code> task) or the swarm proposes one; it waits here for a human.
        </Empty>
      ) : null}
      <ul className="project-list">
        {list.data?.projects.map((project) => (
          <ProjectRow key={project.id} project={project} />
        ))}
      </ul>
    </div>
  );
}

type Decision = 'approve' | 'reject' | 'defer';

/** Approve / Reject (reason) / Defer (notes, optional date) for a proposal that waits for its decision. */
function DecideProject({ project, onDone }: { project: ProjectDetail; onDone: () => void }) {
  const [reason, setReason] = useState('');
  const [notes, setNotes] = useState('');
  const [until, setUntil] = useState('');
  const {
    error,
    busy,
    run: decide,
  } = useSend(async (decision: Decision) => {
    let body: Record<string, string> | undefined;
    if (decision === 'reject') {
      if (reason.trim() === '') throw new Error('A rejection needs a reason: it is kept with the project.');
      body = { reason: reason.trim() };
    } else if (decision === 'defer') {
      if (notes.trim() === '') throw new Error('A deferral needs notes: why, and what would change it.');
      body = { notes: notes.trim(), ...(until ? { until: new Date(`${until}T00:00:00`).toISOString() } : {}) };
    }
    await api(`/api/projects/${project.id}/${decision}`, { method: 'POST', ...(body ? { body } : {}) });
    onDone();
  });
  return (
    <section className="card decide-project" data-testid="decide-project">
      <h2>Decide</h2>
      <p className="muted">Approving creates the project's repository and starts building it.</p>
      <div className="decide">
        <button disabled={busy} onClick={() => void decide('approve')}>
          Approve
        </button>
      </div>
      <div className="decide">
        <input
          aria-label="Reason to reject"
          value={reason}
          placeholder="Reason (required to reject)"
          onChange={(e) => setReason(e.target.value)}
        />
        <button className="danger" disabled={busy || reason.trim() === ''} onClick={() => void decide('reject')}>
          Reject
        </button>
      </div>
      <div className="decide">
        <input
          aria-label="Notes to defer"
          value={notes}
          placeholder="Notes (required to defer)"
          onChange={(e) => setNotes(e.target.value)}
        />
        <input
          aria-label="Bring back on"
          className="date"
          type="date"
          value={until}
          onChange={(e) => setUntil(e.target.value)}
        />
        <button disabled={busy || notes.trim() === ''} onClick={() => void decide('defer')}>
          Defer
        </button>
      </div>
      <ErrorNote error={error} />
    </section>
  );
}

/** A deferred proposal comes back on its date, or now by hand (`POST /api/projects/:id/reopen`). */
function BringBack({ project, onDone }: { project: ProjectDetail; onDone: () => void }) {
  const {
    error,
    busy,
    run: bringBack,
  } = useSend(async () => {
    await api(`/api/projects/${project.id}/reopen`, { method: 'POST' });
    onDone();
  });
  return (
    <section className="card decide-project" data-testid="bring-back">
      <p className="muted">
        Deferred{project.deferred_until ? ` until ${time(project.deferred_until)}` : ' until a human brings it back'}.
      </p>
      <button disabled={busy} onClick={() => void bringBack()}>
        Bring back now
      </button>
      <ErrorNote error={error} />
    </section>
  );
}

function ProjectPage({ id, me }: { id: number; me: Me | null }) {
  const project = useLoad(
    () => api<ProjectDetail>(`/api/projects/${id}`),
    [id],
    (e) => isProjectEvent(e.kind),
  );
  const p = project.data;
  return (
    <div className="page projects project-page">
      <p>
        <Link to="/projects">← Projects</Link>
      </p>
      <ErrorNote error={project.error} />
      {!p && !project.error ? <Loading /> : null}
      {p ? (
        <>
          <h1>
            #{p.id} {p.title} <Status value={p.status} />
          </h1>
          <dl className="fields">
            <dt>Name</dt>
            <dd>
              <code>{p.name}</code>
            </dd>
            <dt>Targets</dt>
            <dd>{p.targets.join(', ') || '—'}</dd>
            <dt>Estimated cost</dt>
            <dd>
              {tokens(p.estimated_tokens)} tokens (PM)
              {p.assessment.estimate ? ` · ${tokens(p.assessment.estimate.tokens)} tokens (Architect)` : ''}
            </dd>
            <dt>Proposed by</dt>
            <dd>
              {p.proposed_by} · {time(p.created_at)}
            </dd>
            {p.deferred_until ? (
              <>
                <dt>Deferred until</dt>
                <dd>{time(p.deferred_until)}</dd>
              </>
            ) : null}
            <dt>Repository</dt>
            <dd>{p.repo ?? 'not yet (created on approval)'}</dd>
            <dt>Story</dt>
            <dd>{p.story_id !== null ? <Link to={`/stories/${p.story_id}`}>story #{p.story_id}</Link> : '—'}</dd>
            {p.product_dir ? (
              <>
                <dt>Product files</dt>
                <dd>
                  <code>{p.product_dir}</code>
                </dd>
              </>
            ) : null}
            {p.publish_approval_id !== null ? (
              <>
                <dt>Publishing</dt>
                <dd>
                  <Link to="/approvals?status=pending">publishing approval #{p.publish_approval_id}</Link>
                </dd>
              </>
            ) : null}
          </dl>
          {p.status === 'proposed' && p.assessment.status !== 'pending' && canChange(me) ? (
            <DecideProject project={p} onDone={project.reload} />
          ) : null}
          {p.status === 'deferred' && canChange(me) ? <BringBack project={p} onDone={project.reload} /> : null}
          <h2>Idea</h2>
          <p className="prose">{p.idea}</p>
          <h2>Problem</h2>
          <p className="prose">{p.problem}</p>
          <h2>Audience</h2>
          <p className="prose">{p.audience}</p>
          <h2>Ratings</h2>
          <ul className="ratings" data-testid="ratings">
            {RATINGS.map((name) => {
              const rating = p.ratings[name];
              return (
                <li key={name} data-testid={`rating-${name}`}>
                  <b>{name}</b>{' '}
                  {rating ? (
                    <>
                      <span className="score">{rating.score}/10</span>{' '}
                      <span className="rater">by {RATERS[rating.by]}</span>
                      <span className="muted"> {rating.reason}</span>
                    </>
                  ) : (
                    <span className="muted">awaiting the Architect</span>
                  )}
                </li>
              );
            })}
          </ul>
          <Assessment project={p} assessment={p.assessment} canAct={canChange(me)} onDone={project.reload} />
          <h2>Spec</h2>
          <Markdown text={p.spec_markdown} />
          <h2>Decisions</h2>
          {p.decisions.length === 0 ? (
            <p className="muted">None yet.</p>
          ) : (
            <ol className="decisions" data-testid="decisions">
              {p.decisions.map((d, index) => (
                <li key={index}>
                  <Status value={d.decision} /> by {d.by} · {time(d.at)}
                  {d.reason ? <span className="prose"> — {d.reason}</span> : null}
                </li>
              ))}
            </ol>
          )}
          <h2>Publications</h2>
          {p.publications.length === 0 ? (
            <p className="muted">Nothing published yet.</p>
          ) : (
            <Publications publications={p.publications} withTimes />
          )}
        </>
      ) : null}
    </div>
  );
}

export default function Projects({ me, query, id }: { me: Me | null; query: URLSearchParams; id?: number }) {
  return id === undefined ? <ProjectList me={me} query={query} /> : <ProjectPage id={id} me={me} />;
}
