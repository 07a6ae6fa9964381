/**
 * @module The workflows as a registry keyed by `workflows.kind`: each kind is a pure step function over its own
 * state with typed events and commands (`story`: `workflow-steps.ts`; `product`: `product-steps.ts`), plus which
 * events it takes and the row columns its state sets. `advance-workflow.ts` loads a row, steps it through its kind's
 * entry and carries out the commands; nothing here does I/O.
 */
import type { WorkflowKind, WorkflowStatus } from '../store/schema.js';
import { stepProduct, type ProductCommand, type ProductEvent, type ProductState } from './product-steps.js';
import { stepStory, type StepOptions, type StoryCommand, type StoryEvent, type StoryState } from './workflow-steps.js';

/** Every event any workflow kind takes; each kind ignores the ones not for it (`accepts`). */
export type WorkflowEvent = StoryEvent | ProductEvent;

export interface KindStep<S, C> {
  state: S;
  commands: C[];
  applied: boolean;
}

export interface WorkflowKindEntry<S, E extends WorkflowEvent, C> {
  /** Whether `event` is one of this kind's (e.g. a `project` approval is not a story's). */
  accepts(event: WorkflowEvent): event is E;
  step(state: S, event: E, options: StepOptions): KindStep<S, C>;
  /** The row columns the state sets. */
  columns(state: S): { stage: string; status: WorkflowStatus; fix_rounds: number };
  /** What the `workflow.advanced` event records beside the event type and stages. */
  eventData(state: S): Record<string, unknown>;
}

const STORY_EVENTS = new Set([
  'started',
  'task_completed',
  'task_failed',
  'resumed',
  'approval_decided',
  'merged',
  'merge_refused',
]);
const PRODUCT_EVENTS = new Set([
  'started',
  'approval_decided',
  'brought_back',
  'recheck_requested',
  'reassess_requested',
  'task_completed',
  'task_failed',
  'story_started',
  'story_completed',
  'product_checked',
]);

const storyKind: WorkflowKindEntry<StoryState, StoryEvent, StoryCommand> = {
  accepts: (event): event is StoryEvent =>
    STORY_EVENTS.has(event.type) &&
    (event.type !== 'approval_decided' || event.kind === 'spec' || event.kind === 'merge'),
  step: (state, event, options) => stepStory(state, event, options),
  columns: (state) => ({ stage: state.stage, status: state.status, fix_rounds: state.fixRounds }),
  eventData: (state) => ({ round: state.round }),
};

const productKind: WorkflowKindEntry<ProductState, ProductEvent, ProductCommand> = {
  accepts: (event): event is ProductEvent =>
    PRODUCT_EVENTS.has(event.type) &&
    (event.type !== 'approval_decided' || event.kind === 'project' || event.kind === 'publish'),
  step: (state, event) => stepProduct(state, event),
  columns: (state) => ({ stage: state.stage, status: state.status, fix_rounds: 0 }),
  eventData: (state) => (state.error ? { error: state.error } : {}),
};

/** The registry: one entry per `workflows.kind`. */
export const WORKFLOW_KINDS = { story: storyKind, product: productKind } as const satisfies Record<
  WorkflowKind,
  unknown
>;
