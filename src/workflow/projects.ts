/**
 * @module Reads the product pipeline's projects (`projects` rows and their `project`/`publish` approvals) in the API
 * shapes of `domain/project-schema.ts`: `listProjects` (optionally by status) and `projectDetail` (the proposal, the
 * Architect's assessment, every decision from the audit log, the repository and story building it, what was
 * published). Each rating names who gave it: the PM's market, the Architect's feasibility, effort and risk. Times are
 * ISO 8601.
 */
import type { Kysely, Selectable } from 'kysely';
import {
  PROJECT_STATUSES,
  type ProjectAssessment,
  type ProjectDetail,
  type ProjectRating,
  type ProjectRatings,
  type ProjectStatus,
  type ProjectSummary,
  type Publication,
} from '../domain/project-schema.js';
import { AutodevError } from '../errors.js';
import type { Database, ProjectsTable } from '../store/schema.js';
import type { ProjectAssessmentRecord } from './product-commands.js';
import type { ProductState, ProductRating } from './product-steps.js';

export type ProjectRow = Selectable<ProjectsTable>;

/** The audit-log kinds of a project decision (subject `project`, id = the project id), oldest first in the detail. */
export const PROJECT_DECISION_EVENTS = {
  'project.approved': 'approved',
  'project.rejected': 'rejected',
  'project.deferred': 'deferred',
  'project.brought_back': 'brought_back',
} as const;

export function isProjectStatus(value: string): value is ProjectStatus {
  return (PROJECT_STATUSES as readonly string[]).includes(value);
}

const iso = (ms: number) => new Date(ms).toISOString();

async function lastApprovalIds(db: Kysely<Database>, ids: readonly number[], kind: 'project' | 'publish') {
  if (ids.length === 0) return new Map<number, number>();
  const rows = await db
    .selectFrom('approvals')
    .select(['id', 'workflow_id'])
    .where('kind', '=', kind)
    .where('workflow_id', 'in', [...ids])
    .orderBy('id', 'asc')
    .execute();
  // Ascending: the last one written per workflow wins, i.e. the open (or last) approval.
  return new Map(rows.map((r) => [r.workflow_id!, r.id]));
}

const assessmentRecord = (row: ProjectRow): ProjectAssessmentRecord | null =>
  row.assessment === null ? null : (JSON.parse(row.assessment) as ProjectAssessmentRecord);

/**
 * The four ratings with who gave each: the market from the PM's proposal; feasibility, effort and risk from the
 * Architect's assessment (null until it is in). A proposal from before the Architect's step kept the PM's four.
 */
function ratingsOf(row: ProjectRow): ProjectRatings {
  const pm = JSON.parse(row.ratings) as Partial<Record<keyof ProjectRatings, ProductRating>>;
  const architect = assessmentRecord(row);
  const by = (rating: ProductRating | undefined, rater: ProjectRating['by']): ProjectRating | null =>
    rating ? { score: rating.score, reason: rating.reason, by: rater } : null;
  const other = (name: 'feasibility' | 'effort' | 'risk') =>
    architect ? by(architect[name], 'architect') : by(pm[name], 'pm');
  return {
    market: by(pm.market, 'pm'),
    feasibility: other('feasibility'),
    effort: other('effort'),
    risk: other('risk'),
  };
}

/** The assessment's state: in (the record), failed or pending (the workflow says), or none (an older proposal). */
function assessmentOf(row: ProjectRow, workflowState: string): ProjectAssessment {
  const record = assessmentRecord(row);
  const state = JSON.parse(workflowState) as Partial<ProductState>;
  const empty = { by: null, task_id: null, verdict: null, estimate: null, approach: null, concerns: [], at: null };
  if (record) {
    return {
      status: 'done',
      by: record.by,
      task_id: record.taskId,
      verdict: record.verdict,
      estimate: record.estimate,
      approach: record.approach,
      concerns: record.concerns,
      error: null,
      at: iso(record.at),
    };
  }
  if (state.stage === 'failed' && state.failedAt === 'assessing') {
    return { status: 'failed', ...empty, error: state.error ?? 'the assessment failed' };
  }
  return { status: state.stage === 'assessing' ? 'pending' : 'none', ...empty, error: null };
}

function summaryOf(row: ProjectRow, approvalId: number | null): ProjectSummary {
  return {
    id: row.workflow_id,
    name: row.name,
    title: row.title,
    status: row.status,
    targets: JSON.parse(row.targets) as string[],
    ratings: ratingsOf(row),
    estimated_tokens: row.estimated_tokens,
    approval_id: approvalId,
    deferred_until: row.deferred_until === null ? null : iso(row.deferred_until),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** Every project, newest first; `status` filters (an unknown status: VALIDATION_FAILED). */
export async function listProjects(
  db: Kysely<Database>,
  filter: { status?: string | undefined } = {},
): Promise<ProjectSummary[]> {
  let query = db.selectFrom('projects').selectAll().orderBy('workflow_id', 'desc');
  if (filter.status !== undefined) {
    if (!isProjectStatus(filter.status)) {
      throw new AutodevError(
        'VALIDATION_FAILED',
        `unknown project status "${filter.status}"; use one of ${PROJECT_STATUSES.join(', ')}`,
      );
    }
    query = query.where('status', '=', filter.status);
  }
  const rows = await query.execute();
  const approvals = await lastApprovalIds(
    db,
    rows.map((r) => r.workflow_id),
    'project',
  );
  return rows.map((row) => summaryOf(row, approvals.get(row.workflow_id) ?? null));
}

/** The project row of `id`, or PROJECT_NOT_FOUND. */
export async function getProject(db: Kysely<Database>, id: number): Promise<ProjectRow> {
  const row = await db.selectFrom('projects').selectAll().where('workflow_id', '=', id).executeTakeFirst();
  if (!row) throw new AutodevError('PROJECT_NOT_FOUND', `no project has id ${id}; "autodev projects list" shows them`);
  return row;
}

/** One project with its proposal, decisions, repository, story and publications. */
export async function projectDetail(db: Kysely<Database>, id: number): Promise<ProjectDetail> {
  const row = await getProject(db, id);
  const [approval, publish, events, repo, workflow] = await Promise.all([
    lastApprovalIds(db, [id], 'project'),
    lastApprovalIds(db, [id], 'publish'),
    db
      .selectFrom('events')
      .select(['kind', 'actor', 'data', 'created_at'])
      .where('subject_type', '=', 'project')
      .where('subject_id', '=', String(id))
      .where('kind', 'in', Object.keys(PROJECT_DECISION_EVENTS))
      .orderBy('id', 'asc')
      .execute(),
    row.repo_id === null
      ? Promise.resolve(undefined)
      : db.selectFrom('repositories').select('name').where('id', '=', row.repo_id).executeTakeFirst(),
    db.selectFrom('workflows').select('state').where('id', '=', id).executeTakeFirstOrThrow(),
  ]);
  return {
    ...summaryOf(row, approval.get(id) ?? null),
    problem: row.problem,
    audience: row.audience,
    spec_markdown: row.spec_markdown,
    idea: row.idea,
    proposed_by: row.proposed_by,
    assessment: assessmentOf(row, workflow.state),
    decisions: events.map((e) => {
      const data = JSON.parse(e.data) as { reason?: string | null };
      return {
        decision: PROJECT_DECISION_EVENTS[e.kind as keyof typeof PROJECT_DECISION_EVENTS],
        by: e.actor,
        reason: data.reason ?? null,
        at: iso(e.created_at),
      };
    }),
    repo: repo?.name ?? null,
    story_id: row.story_workflow_id,
    product_dir: row.product_dir,
    publish_approval_id: publish.get(id) ?? null,
    publications: JSON.parse(row.publications) as Publication[],
  };
}
