/**
 * @module The product workflow as a pure transition function: (state, event) -> (new state, commands). No I/O: the
 * caller (`advance-workflow.ts`, through `product-commands.ts`) stores the state and carries out the commands in the
 * event's own transaction. A product goes: the Architect's assessment of the PM's proposal (`evaluate_feasibility`)
 * -> project approval (approve, reject or defer; a deferred one comes back) -> `create_project_repo` (its own repository) -> a story on that repository -> the product directory checked ->
 * publishing approval -> `publish_product` -> published. Its `stage` gives the project's status (`projectStatusOf`).
 */
import type { ProjectStatus } from '../domain/project-schema.js';

export type ProductStage =
  | 'assessing'
  | 'project_approval'
  | 'deferred'
  | 'rejected'
  | 'create_repo'
  | 'building'
  | 'check_product'
  | 'publish_approval'
  | 'publishing'
  | 'published'
  | 'publish_rejected'
  | 'failed';

export type ProductStatus = 'running' | 'waiting_for_human' | 'completed' | 'failed';

export interface ProductState {
  stage: ProductStage;
  status: ProductStatus;
  title: string;
  /** The project's repository, once `create_project_repo` made it. */
  repoId?: number;
  /** The story workflow building it. */
  storyId?: number;
  /** Why it failed (a task's error, the product directory's first problem). */
  error?: string;
  /** The stage that failed, so a human's retry knows what to run again. */
  failedAt?: ProductStage;
}

/** The task types a product workflow enqueues and hears back from. */
export type ProductTaskType = 'evaluate_feasibility' | 'create_project_repo' | 'publish_product';

export interface ProductRating {
  score: number;
  reason: string;
}

/** The Architect's assessment as the project keeps it (the `evaluate_feasibility` result's fields, and its task). */
export interface ProductAssessment {
  taskId: number;
  verdict: 'feasible' | 'feasible_with_changes' | 'not_feasible';
  feasibility: ProductRating;
  effort: ProductRating;
  risk: ProductRating;
  estimate: { tokens: number; duration: string };
  approach: string;
  concerns: string[];
}

export type ProductEvent =
  | { type: 'started' }
  | {
      type: 'approval_decided';
      kind: 'project' | 'publish';
      decision: 'approved' | 'rejected' | 'deferred';
      reason: string | null;
    }
  /** A deferred proposal comes back: its date passed, or a human brought it back. */
  | { type: 'brought_back' }
  /** A human checks the product directory again after it failed the check (fixed by a later story). */
  | { type: 'recheck_requested' }
  /** A human asks the Architect again after its assessment failed (or it was blocked). */
  | { type: 'reassess_requested' }
  | { type: 'task_completed'; taskId: number; taskType: string; result: unknown }
  | { type: 'task_failed'; taskId: number; taskType: string; error: string }
  /** The story building the product was started (carried out by `start_story`). */
  | { type: 'story_started'; storyId: number }
  /** The story building the product completed (merged, deployed). */
  | { type: 'story_completed'; storyId: number }
  /** The product directory was read and validated (`readProductDir`), or its first problem. */
  | { type: 'product_checked'; ok: true; dir: string }
  | { type: 'product_checked'; ok: false; error: string };

export type ProductCommand =
  | { kind: 'enqueue'; taskType: ProductTaskType; payload: Record<string, unknown> }
  /** Keep the Architect's assessment on the project (before its approval opens). */
  | { kind: 'record_assessment'; assessment: ProductAssessment }
  | { kind: 'open_approval'; approvalKind: 'project' | 'publish'; title: string; body: string }
  | { kind: 'start_story'; repoId: number }
  | { kind: 'check_product' };

export interface ProductStepOutcome {
  state: ProductState;
  commands: ProductCommand[];
  /** False when the event did not apply (stale or unexpected): nothing changes. */
  applied: boolean;
}

export function initialProductState(title: string): ProductState {
  return { stage: 'assessing', status: 'running', title };
}

const PROJECT_STATUS_BY_STAGE: Record<ProductStage, ProjectStatus> = {
  // A proposal being assessed is proposed; its approval opens once the Architect's assessment is in.
  assessing: 'proposed',
  project_approval: 'proposed',
  deferred: 'deferred',
  rejected: 'rejected',
  create_repo: 'building',
  building: 'building',
  check_product: 'building',
  publish_approval: 'awaiting_publish',
  publishing: 'publishing',
  published: 'published',
  publish_rejected: 'publish_rejected',
  failed: 'failed',
};

/** The project's status (`PROJECT_STATUSES`) at a workflow stage. */
export function projectStatusOf(stage: ProductStage): ProjectStatus {
  return PROJECT_STATUS_BY_STAGE[stage];
}

const ignored = (state: ProductState): ProductStepOutcome => ({ state, commands: [], applied: false });

function moved(state: ProductState, commands: ProductCommand[] = []): ProductStepOutcome {
  const { error: _error, failedAt: _failedAt, ...rest } = state;
  return { state: rest, commands, applied: true };
}

function failed(state: ProductState, at: ProductStage, error: string): ProductStepOutcome {
  return { state: { ...state, stage: 'failed', status: 'failed', error, failedAt: at }, commands: [], applied: true };
}

function projectApproval(state: ProductState, verdict?: ProductAssessment['verdict']): ProductCommand {
  const architect = verdict ? ` The Architect's verdict: ${verdict.replace(/_/g, ' ')}.` : '';
  return {
    kind: 'open_approval',
    approvalKind: 'project',
    title: `Build product: ${state.title}`,
    body: `The PM proposed it and the Architect assessed it.${architect} Approve to create its repository and build it; reject (with a reason) to never build it; defer (with notes) to bring it back later.`,
  };
}

function resultStatus(result: unknown): Record<string, unknown> {
  return typeof result === 'object' && result !== null ? (result as Record<string, unknown>) : {};
}

const ASSESS: ProductCommand = { kind: 'enqueue', taskType: 'evaluate_feasibility', payload: {} };

/**
 * The Architect's result (validated against its contract before the workflow hears of it): a `done` one's
 * assessment, or why there is none (a `blocked` result's reason).
 */
function assessmentOf(taskId: number, result: unknown): ProductAssessment | { error: string } {
  const r = resultStatus(result);
  if (r.status !== 'done') {
    const why = typeof r.blocked_reason === 'string' ? r.blocked_reason : 'no reason given';
    return { error: `the Architect could not assess it: ${why}` };
  }
  const fields = r as unknown as Omit<ProductAssessment, 'taskId'>;
  return {
    taskId,
    verdict: fields.verdict,
    feasibility: fields.feasibility,
    effort: fields.effort,
    risk: fields.risk,
    estimate: fields.estimate,
    approach: fields.approach,
    concerns: fields.concerns,
  };
}

function assessed(state: ProductState, taskId: number, result: unknown): ProductStepOutcome {
  const assessment = assessmentOf(taskId, result);
  if ('error' in assessment) return failed(state, 'assessing', assessment.error);
  return moved({ ...state, stage: 'project_approval', status: 'waiting_for_human' }, [
    { kind: 'record_assessment', assessment },
    projectApproval(state, assessment.verdict),
  ]);
}

export function stepProduct(state: ProductState, event: ProductEvent): ProductStepOutcome {
  switch (event.type) {
    case 'started':
      if (state.stage !== 'assessing') return ignored(state);
      return moved(state, [ASSESS]);
    case 'reassess_requested':
      if (state.stage !== 'failed' || state.failedAt !== 'assessing') return ignored(state);
      return moved({ ...state, stage: 'assessing', status: 'running' }, [ASSESS]);
    case 'brought_back':
      if (state.stage !== 'deferred') return ignored(state);
      return moved({ ...state, stage: 'project_approval', status: 'waiting_for_human' }, [projectApproval(state)]);
    case 'approval_decided':
      if (event.kind === 'project') {
        if (state.stage !== 'project_approval') return ignored(state);
        if (event.decision === 'approved') {
          return moved({ ...state, stage: 'create_repo', status: 'running' }, [
            { kind: 'enqueue', taskType: 'create_project_repo', payload: {} },
          ]);
        }
        if (event.decision === 'rejected') return moved({ ...state, stage: 'rejected', status: 'completed' });
        return moved({ ...state, stage: 'deferred', status: 'waiting_for_human' });
      }
      if (state.stage !== 'publish_approval') return ignored(state);
      if (event.decision === 'approved') {
        return moved({ ...state, stage: 'publishing', status: 'running' }, [
          { kind: 'enqueue', taskType: 'publish_product', payload: {} },
        ]);
      }
      if (event.decision === 'rejected') return moved({ ...state, stage: 'publish_rejected', status: 'completed' });
      return ignored(state);
    case 'task_completed': {
      if (event.taskType === 'evaluate_feasibility') {
        if (state.stage !== 'assessing') return ignored(state);
        return assessed(state, event.taskId, event.result);
      }
      if (event.taskType === 'create_project_repo') {
        if (state.stage !== 'create_repo' && !(state.stage === 'failed' && state.failedAt === 'create_repo')) {
          return ignored(state);
        }
        const repoId = resultStatus(event.result).repo_id;
        if (typeof repoId !== 'number') return failed(state, 'create_repo', 'create_project_repo named no repository');
        return moved({ ...state, stage: 'building', status: 'running', repoId }, [{ kind: 'start_story', repoId }]);
      }
      if (event.taskType === 'publish_product') {
        if (state.stage !== 'publishing' && !(state.stage === 'failed' && state.failedAt === 'publishing')) {
          return ignored(state);
        }
        return moved({ ...state, stage: 'published', status: 'completed' });
      }
      return ignored(state);
    }
    case 'task_failed':
      if (event.taskType === 'evaluate_feasibility' && state.stage === 'assessing') {
        return failed(state, 'assessing', `the Architect's assessment failed: ${event.error}`);
      }
      if (event.taskType === 'create_project_repo' && state.stage === 'create_repo') {
        return failed(state, 'create_repo', event.error);
      }
      if (event.taskType === 'publish_product' && state.stage === 'publishing') {
        return failed(state, 'publishing', event.error);
      }
      return ignored(state);
    case 'recheck_requested':
      if (state.stage !== 'failed' || state.failedAt !== 'check_product') return ignored(state);
      return moved({ ...state, stage: 'check_product', status: 'running' }, [{ kind: 'check_product' }]);
    case 'story_started':
      if (state.stage !== 'building' || state.storyId !== undefined) return ignored(state);
      return moved({ ...state, storyId: event.storyId });
    case 'story_completed':
      if (state.stage !== 'building' || state.storyId !== event.storyId) return ignored(state);
      return moved({ ...state, stage: 'check_product' }, [{ kind: 'check_product' }]);
    case 'product_checked':
      if (state.stage !== 'check_product') return ignored(state);
      if (!event.ok) return failed(state, 'check_product', event.error);
      return moved({ ...state, stage: 'publish_approval', status: 'waiting_for_human' }, [
        {
          kind: 'open_approval',
          approvalKind: 'publish',
          title: `Publish product: ${state.title}`,
          body: `The product directory ${event.dir} is written and valid. Approve to publish it to its targets; reject (with a reason) to publish nothing.`,
        },
      ]);
  }
}
