/**
 * @module Carries out the product workflow's commands (`product-steps.ts`) in the event's transaction: enqueue its
 * tasks (the Architect's `evaluate_feasibility`, with the PM's proposal as its payload; the deterministic ones), keep
 * the Architect's assessment on the project, open its `project`/`publish` approvals (subject: the project), start the story that builds
 * the product on the project's repository, and check the product directory (read only: `readProductDir` on the
 * repository's checkout). Also keeps the `projects` row in step with the workflow (`syncProject`) and tells a
 * product when the story building it completed (`storyCompleted`). Nothing here runs git or publishes.
 */
import type { Kysely } from 'kysely';
import { isAutodevError } from '../errors.js';
import { openApproval } from './open-approval.js';
import { LISTING_FILES, MANIFEST_FILE, readProductDir } from '../publish/product-dir.js';
import type { Database } from '../store/schema.js';
import type { WorkflowDeps, WorkflowRow } from './advance-workflow.js';
import {
  projectStatusOf,
  type ProductAssessment,
  type ProductCommand,
  type ProductEvent,
  type ProductState,
} from './product-steps.js';

const WORKFLOW_ACTOR = 'workflow';

/** Starts a story workflow (advance-workflow's `startStoryWorkflow`, passed in: no import cycle). */
export type StartStory = (
  tx: Kysely<Database>,
  story: { title: string; body: string; repoId: number; createdBy: string },
) => Promise<{ id: number }>;

/** The story's text: the proposal's spec plus the product files the builder must write at the repository root. */
export function productStoryBody(project: {
  name: string;
  title: string;
  problem: string;
  audience: string;
  spec_markdown: string;
  targets: string;
}): string {
  const targets = JSON.parse(project.targets) as string[];
  const listings = targets
    .map((t) => (t in LISTING_FILES ? `\`${LISTING_FILES[t as keyof typeof LISTING_FILES]}\` (${t})` : null))
    .filter((l): l is string => l !== null);
  return [
    `Build the product "${project.title}" (${project.name}).`,
    '',
    `Problem: ${project.problem}`,
    `Audience: ${project.audience}`,
    '',
    project.spec_markdown,
    '',
    '## Product files (required, at the repository root)',
    `- \`${MANIFEST_FILE}\`: name "${project.name}", a semantic version, title, summary, and per target what to send` +
      ` (targets: ${targets.join(', ')}).`,
    '- `README.md`.',
    ...listings.map((l) => `- ${l}: the listing for that target.`),
  ].join('\n');
}

/** What `projects.assessment` holds: the assessment, who gave it and when (ms). */
export interface ProjectAssessmentRecord extends ProductAssessment {
  by: string;
  at: number;
}

/** The PM's proposal, for the Architect to assess (its `evaluate_feasibility` payload). */
async function proposalPayload(tx: Kysely<Database>, workflowId: number): Promise<Record<string, unknown>> {
  const project = await tx
    .selectFrom('projects')
    .selectAll()
    .where('workflow_id', '=', workflowId)
    .executeTakeFirstOrThrow();
  const ratings = JSON.parse(project.ratings) as { market?: unknown };
  return {
    request: 'Assess this product proposal (the PM wrote it) before a human decides whether to build it.',
    name: project.name,
    title: project.title,
    idea: project.idea,
    problem: project.problem,
    audience: project.audience,
    spec_markdown: project.spec_markdown,
    targets: JSON.parse(project.targets) as unknown,
    market: ratings.market ?? null,
    pm_estimated_tokens: project.estimated_tokens,
  };
}

export async function applyProductCommand(
  tx: Kysely<Database>,
  deps: WorkflowDeps,
  row: WorkflowRow,
  state: ProductState,
  command: ProductCommand,
  startStory: StartStory,
  actor: string,
): Promise<ProductEvent | undefined> {
  const now = deps.queue.clock();
  switch (command.kind) {
    case 'enqueue':
      await deps.queue.enqueue(
        {
          type: command.taskType,
          payload: {
            ...(command.taskType === 'evaluate_feasibility' ? await proposalPayload(tx, row.id) : {}),
            ...command.payload,
            workflow_id: row.id,
            project_id: row.id,
          },
          workflowId: row.id,
          repoId: state.repoId ?? null,
          createdBy: WORKFLOW_ACTOR,
          // A failed publish stops the product for a human (its journal makes a retry safe); no blind re-runs.
          ...(command.taskType === 'publish_product' ? { maxAttempts: 1 } : {}),
        },
        tx,
      );
      return undefined;
    case 'record_assessment': {
      const record: ProjectAssessmentRecord = { ...command.assessment, by: actor, at: now };
      await tx
        .updateTable('projects')
        .set({ assessment: JSON.stringify(record), updated_at: now })
        .where('workflow_id', '=', row.id)
        .execute();
      return undefined;
    }
    case 'open_approval': {
      await openApproval(tx, {
        kind: command.approvalKind,
        workflowId: row.id,
        subjectType: 'project',
        title: command.title,
        body: command.body,
        actor: WORKFLOW_ACTOR,
        now,
        eventData: { project_id: row.id },
      });
      return undefined;
    }
    case 'start_story': {
      const project = await tx
        .selectFrom('projects')
        .selectAll()
        .where('workflow_id', '=', row.id)
        .executeTakeFirstOrThrow();
      const story = await startStory(tx, {
        title: `Build ${project.title}`,
        body: productStoryBody(project),
        repoId: command.repoId,
        createdBy: `product:${row.id}`,
      });
      await tx
        .updateTable('projects')
        .set({ story_workflow_id: story.id, repo_id: command.repoId, updated_at: now })
        .where('workflow_id', '=', row.id)
        .execute();
      return { type: 'story_started', storyId: story.id };
    }
    case 'check_product': {
      const repo = await tx
        .selectFrom('repositories')
        .select('location')
        .where('id', '=', state.repoId ?? -1)
        .executeTakeFirst();
      if (!repo) return { type: 'product_checked', ok: false, error: 'the project has no repository' };
      try {
        const product = await readProductDir(repo.location);
        await tx
          .updateTable('projects')
          .set({ product_dir: product.dir, updated_at: now })
          .where('workflow_id', '=', row.id)
          .execute();
        return { type: 'product_checked', ok: true, dir: product.dir };
      } catch (error) {
        if (!isAutodevError(error)) throw error;
        return { type: 'product_checked', ok: false, error: error.message };
      }
    }
  }
}

/** Keeps the project's status in step with its workflow's stage (in the same transaction as the step). */
export async function syncProject(
  tx: Kysely<Database>,
  deps: WorkflowDeps,
  row: WorkflowRow,
  state: ProductState,
): Promise<void> {
  await tx
    .updateTable('projects')
    .set({ status: projectStatusOf(state.stage), updated_at: deps.queue.clock() })
    .where('workflow_id', '=', row.id)
    .execute();
}

/** The product a completed story builds, if any (the caller advances it with `story_completed`). */
export async function productOfStory(tx: Kysely<Database>, storyId: number): Promise<number | undefined> {
  const project = await tx
    .selectFrom('projects')
    .select('workflow_id')
    .where('story_workflow_id', '=', storyId)
    .executeTakeFirst();
  return project?.workflow_id;
}
