/**
 * @module Seeds the product pipeline's rows straight into a test database, for the dashboard's tests: a `product`
 * workflow with its `projects` row (a proposal with ratings; optionally a product directory) and its approvals
 * (`project` / `publish`, subject `project` = the project id), as the product workflow writes them; or a proposal
 * through the product workflow itself (`proposeProject`).
 */
import type { Kysely } from 'kysely';
import type { ProjectRatings, ProjectStatus } from '../../src/domain/project-schema.js';
import type { TaskQueue } from '../../src/queue/task-queue.js';
import type { ApprovalKind, Database } from '../../src/store/schema.js';
import { startProductWorkflow } from '../../src/workflow/advance-workflow.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';

export const SAMPLE_RATINGS: ProjectRatings = {
  market: { score: 7, reason: 'Writers want word counts everywhere' },
  feasibility: { score: 9, reason: 'A few string functions' },
  effort: { score: 8, reason: 'One afternoon' },
  risk: { score: 6, reason: 'Crowded space' },
};

export interface SeedProject {
  name: string;
  title?: string;
  status?: ProjectStatus;
  targets?: string[];
  productDir?: string | null;
  estimatedTokens?: number;
}

/** A product workflow and its project row; returns the project id (= the workflow id). */
export async function seedProject(db: Kysely<Database>, project: SeedProject): Promise<number> {
  const now = Date.now();
  const title = project.title ?? `Project ${project.name}`;
  const workflow = await db
    .insertInto('workflows')
    .values({
      kind: 'product',
      status: project.status === 'proposed' || project.status === undefined ? 'waiting_for_human' : 'running',
      stage: 'proposal',
      title,
      body: 'An idea',
      repo_id: null,
      state: '{}',
      created_by: 'test',
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('projects')
    .values({
      workflow_id: workflow.id,
      name: project.name,
      title,
      idea: 'Word counts for writers',
      problem: 'Writers count words by hand.',
      audience: 'Bloggers and students.',
      spec_markdown: '# Spec\n\n- `count(text)` returns the **word count**\n',
      ratings: JSON.stringify(SAMPLE_RATINGS),
      targets: JSON.stringify(project.targets ?? ['npm']),
      estimated_tokens: project.estimatedTokens ?? 250_000,
      status: project.status ?? 'proposed',
      deferred_until: null,
      proposed_by: 'pm-1',
      source_task_id: null,
      repo_id: null,
      story_workflow_id: null,
      product_dir: project.productDir ?? null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return workflow.id;
}

/** A pending approval of `kind` on project `projectId`; returns its id. */
export async function seedProjectApproval(
  db: Kysely<Database>,
  projectId: number,
  kind: ApprovalKind,
  title = `${kind} project ${projectId}`,
): Promise<number> {
  const now = Date.now();
  const row = await db
    .insertInto('approvals')
    .values({
      kind,
      status: 'pending',
      subject_type: 'project',
      subject_id: String(projectId),
      title,
      body: '',
      workflow_id: projectId,
      decided_by: null,
      reason: null,
      decided_at: null,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * A proposal the way a PM's `build_product` result makes one (h1's `startProductWorkflow`): a product workflow, its
 * project (`proposed`) and its pending `project` approval. Returns the project id.
 */
export async function proposeProject(
  queue: TaskQueue,
  proposal: { name: string; title: string; estimatedTokens?: number; targets?: string[] },
): Promise<number> {
  const row = await startProductWorkflow(queue.handle.db, workflowDeps(queue, 3), {
    proposal: {
      name: proposal.name,
      title: proposal.title,
      problem: 'Writers count words by hand.',
      audience: 'Bloggers and students.',
      spec_markdown: '# Spec\n\n- `count(text)` returns the **word count**\n',
      ratings: SAMPLE_RATINGS,
      targets: proposal.targets ?? ['npm'],
      estimated_tokens: proposal.estimatedTokens ?? 250_000,
    },
    idea: 'Word counts for writers',
    sourceTaskId: null,
    createdBy: 'pm-1',
  });
  return row.id;
}
