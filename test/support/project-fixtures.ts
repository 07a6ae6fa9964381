/**
 * @module Seeds the product pipeline's rows straight into a test database, for the dashboard's tests: a `product`
 * workflow with its `projects` row (a proposal with the PM's market rating and the Architect's assessment; optionally
 * a product directory) and its approvals (`project` / `publish`, subject `project` = the project id), as the product
 * workflow writes them; or a proposal through the product workflow itself (`proposeProject`: the PM's proposal, then
 * the Architect's `evaluate_feasibility` completed with `assessProject`, standing for the agent's result and passing
 * its contract).
 */
import type { Kysely } from 'kysely';
import type { ProjectStatus } from '../../src/domain/project-schema.js';
import type { TaskQueue } from '../../src/queue/task-queue.js';
import type { Task } from '../../src/queue/task-record.js';
import type { ApprovalKind, Database } from '../../src/store/schema.js';
import { onWorkflowTaskCompleted, startProductWorkflow } from '../../src/workflow/advance-workflow.js';
import type { ProjectAssessmentRecord } from '../../src/workflow/product-commands.js';
import type { ProductState } from '../../src/workflow/product-steps.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { checkedResult } from './result-fixtures.js';

/** The PM's ratings in a `build_product` result: the market only. */
export const PM_RATINGS = { market: { score: 7, reason: 'Writers want word counts everywhere' } };

/** The Architect's `evaluate_feasibility` result (stands for the agent's; checked against the contract). */
export const ASSESSMENT = checkedResult('evaluate_feasibility', {
  status: 'done',
  summary: 'Feasible: a few string functions and a README.',
  verdict: 'feasible',
  feasibility: { score: 9, reason: 'A few string functions' },
  effort: { score: 8, reason: 'One afternoon' },
  risk: { score: 6, reason: 'Crowded space' },
  estimate: { tokens: 150_000, duration: 'half a day of agent work' },
  approach: 'One `count(text)` function, tests with `node --test`, published as an npm package.',
  concerns: ['Word boundaries differ between languages'],
});

/** The assessment as the project row keeps it (`projects.assessment`). */
function assessmentRecord(taskId: number): ProjectAssessmentRecord {
  const { status: _status, summary: _summary, ...fields } = ASSESSMENT;
  return { ...fields, taskId, by: 'architect-1', at: Date.now() } as ProjectAssessmentRecord;
}

export interface SeedProject {
  name: string;
  title?: string;
  status?: ProjectStatus;
  targets?: string[];
  productDir?: string | null;
  estimatedTokens?: number;
  /** The product workflow's state (default `{}`: a workflow that takes no step). */
  state?: ProductState;
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
      stage: project.state?.stage ?? 'proposal',
      title,
      body: 'An idea',
      repo_id: null,
      state: JSON.stringify(project.state ?? {}),
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
      ratings: JSON.stringify(PM_RATINGS),
      targets: JSON.stringify(project.targets ?? ['npm']),
      estimated_tokens: project.estimatedTokens ?? 250_000,
      status: project.status ?? 'proposed',
      deferred_until: null,
      proposed_by: 'pm-1',
      source_task_id: null,
      repo_id: null,
      story_workflow_id: null,
      product_dir: project.productDir ?? null,
      assessment: JSON.stringify(assessmentRecord(0)),
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
 * Completes the oldest pending `evaluate_feasibility` task with `result` (default: `ASSESSMENT`, a feasible one) as
 * the worker does: claimed, completed and its workflow moved on in one transaction. Returns the task.
 */
export async function assessProject(
  queue: TaskQueue,
  result: Record<string, unknown> = ASSESSMENT,
  workerId = 'architect-1',
): Promise<Task> {
  checkedResult('evaluate_feasibility', result);
  const task = await queue.claim(workerId, ['evaluate_feasibility']);
  if (!task) throw new Error('no pending evaluate_feasibility task');
  await queue.handle.db.transaction().execute(async (tx) => {
    await queue.complete({ taskId: task.id, workerId }, result, tx);
    await onWorkflowTaskCompleted(tx, workflowDeps(queue, 3), task, result, workerId);
  });
  return task;
}

/** A proposal as a PM's `build_product` result starts it (`startProductWorkflow`): its `evaluate_feasibility` waits. */
export async function startProposal(
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
      ratings: PM_RATINGS,
      targets: proposal.targets ?? ['npm'],
      estimated_tokens: proposal.estimatedTokens ?? 250_000,
    },
    idea: 'Word counts for writers',
    sourceTaskId: null,
    createdBy: 'pm-1',
  });
  return row.id;
}

/**
 * A proposal the way the product workflow makes one: the PM's proposal, then the Architect's assessment; its project
 * is `proposed` with a pending `project` approval. Returns the project id.
 */
export async function proposeProject(
  queue: TaskQueue,
  proposal: { name: string; title: string; estimatedTokens?: number; targets?: string[] },
): Promise<number> {
  const id = await startProposal(queue, proposal);
  await assessProject(queue);
  return id;
}

/** A PM's `build_product` result proposing a tiny slug helper (stands for the agent's; the helpers check it). */
export function slugProposal(name: string) {
  return {
    status: 'done',
    summary: 'A proposal for a tiny slug helper.',
    name,
    title: `Slugger ${name}`,
    problem: 'Everyone rewrites slugify.',
    audience: 'JavaScript developers',
    spec_markdown: '# Slugger\n\n`slugify(text)` as an npm package.',
    ratings: { market: { score: 5, reason: 'Small but steady' } },
    targets: ['npm'],
    estimated_tokens: 50_000,
  };
}

/** The builder's files of that product, at the repository root, in the guide's layout. */
export function slugProductFiles(name: string): Record<string, string> {
  return {
    'product.json': JSON.stringify({
      name,
      version: '1.0.0',
      title: `Slugger ${name}`,
      summary: 'slugify(text), nothing else.',
      targets: { npm: { package_dir: 'package' } },
    }),
    'README.md': `# ${name}\n\nslugify(text).\n`,
    'NPM_README.md': `# ${name}\n\n\`npm install ${name}\`\n`,
    'package/package.json': JSON.stringify({ name, version: '1.0.0', main: 'index.js' }),
    'package/index.js': 'exports.slugify = (s) => s.toLowerCase().replace(/\\W+/g, "-");\n',
  };
}
