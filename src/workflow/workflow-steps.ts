/**
 * @module The story workflow as a pure transition function: (state, event) -> (new state, commands). No I/O: the
 * caller (`advance-workflow.ts`) stores the state and carries out the commands in the event's own transaction.
 */
import type { TaskType } from '../domain/roles.js';
import { sameFindings } from './finding-fingerprint.js';

export type StoryStage =
  | 'story'
  | 'spec'
  | 'spec_approval'
  | 'implement'
  | 'gates'
  | 'merge_approval'
  | 'merge'
  | 'deploy'
  | 'done'
  | 'waiting_for_human';

export type StoryStatus = 'running' | 'waiting_for_human' | 'completed';

export type GateName = 'review' | 'tests' | 'security';
export const GATE_NAMES: readonly GateName[] = ['review', 'tests', 'security'];
export const GATE_TASK_TYPES: Record<GateName, TaskType> = {
  review: 'review_mr',
  tests: 'run_tests',
  security: 'security_scan',
};

export interface GateVerdict {
  passed: boolean;
  /** One line per problem, what the builder must fix. */
  findings: string[];
  /**
   * The merge must squash the branch, and why (an earlier commit of the branch held a secret its head no longer
   * holds). A passing deterministic verdict with a squash reason does not decide the gate: the agent's verdict does.
   */
  squash?: string;
}

export interface StoryState {
  stage: StoryStage;
  status: StoryStatus;
  title: string;
  body: string;
  /** The PM's user story (its result), once written. */
  story?: unknown;
  /** The architect's spec (its result), once written. */
  spec?: unknown;
  /** Reasons humans gave when rejecting the spec, oldest first. */
  specRejections: string[];
  /** The builder's working branch, once it has one. */
  branch?: string;
  /** 0 for the feature, n for the n-th fix round. */
  round: number;
  fixRounds: number;
  /** Verdicts of the current round's gates, by gate. */
  gates: Partial<Record<GateName, GateVerdict>>;
  /** Identifies the diff the current round's gates look at. */
  diff?: string;
  /** The previous round's diff and findings, to notice a fix round that changed nothing. */
  previous?: { diff: string | undefined; findings: string[] };
  /** Why the workflow waits for a human. */
  humanSummary?: string;
  /** Where it stopped, so a human's resume continues from there (absent while running). */
  halt?: StoryHalt;
  /** How the deployment ended (its summary says plainly when nothing was deployed). */
  deployment?: { outcome: string; summary: string };
}

/** Where a workflow waiting for a human stopped. */
export type StoryHalt =
  /** The fix limit or a fix round without progress: a resume starts one more fix round with these findings. */
  | { kind: 'fixes'; findings: string[] }
  /**
   * A task failed for good (dead letter) or was blocked: a resume runs it again, on the branch it worked on (its
   * `payload.branch`), never from the default branch.
   */
  | {
      kind: 'task';
      stage: StoryStage;
      taskId: number;
      taskType: TaskType;
      payload: Record<string, unknown>;
      /** The agent's `blocked_reason`, or the error that dead-lettered the task. */
      reason: string;
      /** The branch the halted task's work is on, when it has one. */
      branch?: string;
    };

export type StoryEvent =
  | { type: 'started' }
  | {
      type: 'task_completed';
      taskId: number;
      taskType: TaskType;
      /** The task's validated result (`status: done | blocked`). */
      result: unknown;
      /** The round the task was started for (from its payload); gates of other rounds are stale. */
      round?: number;
      /** For implementations: what identifies the diff (hash of `git diff base...branch`, or the head commit). */
      diff?: string;
      /** For gates: the deterministic result (test run, secret scan, lint); it decides the verdict when present. */
      deterministic?: GateVerdict;
      /** The task's payload, kept when the workflow stops on it so a resume can run it again. */
      payload?: Record<string, unknown>;
    }
  | {
      type: 'task_failed';
      taskId: number;
      taskType: TaskType;
      error: string;
      round?: number;
      payload?: Record<string, unknown>;
      /** The branch the failed task worked on (its commits and saved WIP), when it has one. */
      branch?: string;
    }
  /** A human resumes a workflow that waits for one, optionally with a note for the agents. */
  | { type: 'resumed'; note: string | null }
  | { type: 'approval_decided'; kind: 'spec' | 'merge'; decision: 'approved' | 'rejected'; reason: string | null }
  | { type: 'merged'; sha: string }
  | { type: 'merge_refused'; reason: string; rerunGates: boolean };

export type StoryCommand =
  | { kind: 'enqueue'; taskType: TaskType; payload: Record<string, unknown>; parentTaskId?: number }
  | { kind: 'open_approval'; approvalKind: 'spec' | 'merge'; title: string; body: string }
  | { kind: 'merge' }
  | { kind: 'ask_human'; summary: string };

export interface StepOptions {
  maxFixRounds: number;
}

export interface StepOutcome {
  state: StoryState;
  commands: StoryCommand[];
  /** False when the event did not apply (stale or unexpected): nothing changes. */
  applied: boolean;
}

export function initialStoryState(title: string, body: string): StoryState {
  return { stage: 'story', status: 'running', title, body, specRejections: [], round: 0, fixRounds: 0, gates: {} };
}

const ignored = (state: StoryState): StepOutcome => ({ state, commands: [], applied: false });

function resultOf(result: unknown): Record<string, unknown> {
  return typeof result === 'object' && result !== null ? (result as Record<string, unknown>) : {};
}

function waitForHuman(state: StoryState, summary: string, halt: StoryHalt): StepOutcome {
  return {
    state: { ...state, stage: 'waiting_for_human', status: 'waiting_for_human', humanSummary: summary, halt },
    commands: [{ kind: 'ask_human', summary }],
    applied: true,
  };
}

/**
 * The verdict of one gate: the deterministic result (test run, secret scan, lint) decides when there is one, and the
 * agent's findings are added to a failing one; without one, the agent's verdict.
 */
export function gateVerdict(gate: GateName, result: unknown, deterministic?: GateVerdict): GateVerdict {
  const agent = agentVerdict(gate, result);
  if (!deterministic) return agent;
  if (deterministic.passed && deterministic.squash) return { ...agent, squash: deterministic.squash };
  if (deterministic.passed) return deterministic;
  const added = agent.passed ? [] : agent.findings.filter((f) => !deterministic.findings.includes(f));
  return { passed: false, findings: [...deterministic.findings, ...added] };
}

function agentVerdict(gate: GateName, result: unknown): GateVerdict {
  const r = resultOf(result);
  const findings = Array.isArray(r.findings) ? (r.findings as Record<string, unknown>[]) : [];
  const lines = (items: Record<string, unknown>[]) =>
    items.map((f) => {
      const where = typeof f.file === 'string' ? ` (${f.file}${typeof f.line === 'number' ? `:${f.line}` : ''})` : '';
      const label = typeof f.severity === 'string' ? `[${f.severity}] ` : '';
      return `${gate}: ${label}${String(f.message ?? f.name ?? '')}${where}`;
    });
  if (gate === 'review') {
    const passed = r.verdict === 'approve';
    return { passed, findings: passed ? [] : lines(findings.filter((f) => f.severity !== 'info')) };
  }
  if (gate === 'security') {
    const passed = r.verdict === 'pass';
    return { passed, findings: passed ? [] : lines(findings.filter((f) => f.severity !== 'info')) };
  }
  const failed = typeof r.failed === 'number' ? r.failed : 0;
  const failures = Array.isArray(r.failures) ? (r.failures as Record<string, unknown>[]) : [];
  const passed = failed === 0;
  return {
    passed,
    findings: passed
      ? []
      : failures.length > 0
        ? failures.map((f) => `tests: ${String(f.name ?? '')}: ${String(f.message ?? '')}`)
        : [`tests: ${failed} failing test(s)`],
  };
}

function gateOf(taskType: TaskType): GateName | undefined {
  return GATE_NAMES.find((gate) => GATE_TASK_TYPES[gate] === taskType);
}

function gateCommands(state: StoryState, parentTaskId: number): StoryCommand[] {
  return GATE_NAMES.map((gate) => ({
    kind: 'enqueue' as const,
    taskType: GATE_TASK_TYPES[gate],
    payload: { title: state.title, branch: state.branch, round: state.round, spec: state.spec },
    parentTaskId,
  }));
}

function startFix(state: StoryState, findings: string[], parentTaskId?: number): StepOutcome {
  const round = state.round + 1;
  return {
    state: {
      ...state,
      stage: 'implement',
      round,
      fixRounds: state.fixRounds + 1,
      gates: {},
      previous: { diff: state.diff, findings },
    },
    commands: [
      {
        kind: 'enqueue',
        taskType: 'implement_fix',
        payload: { title: state.title, spec: state.spec, branch: state.branch, round, findings },
        ...(parentTaskId === undefined ? {} : { parentTaskId }),
      },
    ],
    applied: true,
  };
}

/** The summary of a stop after fix rounds: why, and each open finding's first line (the tails stay in the halt). */
function summary(state: StoryState, why: string, findings: string[]): string {
  const lines = findings.map((f) => `- ${f.split('\n', 1)[0]!.trim()}`);
  const list = findings.length > 0 ? `\nOpen findings:\n${lines.join('\n')}` : '';
  return `${why} "${state.title}" after ${state.fixRounds} fix round(s) on branch ${state.branch ?? '(none)'}.${list}`;
}

/** Why the merge must squash the branch (a gate of the round said so), else undefined. */
export function squashReason(state: StoryState): string | undefined {
  return GATE_NAMES.map((gate) => state.gates[gate]?.squash).find((reason) => reason !== undefined);
}

/** The whole join: all three gates of the round are in; pass to the merge approval, or fix, or stop. */
function join(state: StoryState, parentTaskId: number, options: StepOptions): StepOutcome {
  const verdicts = GATE_NAMES.map((gate) => state.gates[gate]);
  if (verdicts.some((v) => v === undefined)) return { state, commands: [], applied: true };
  const findings = verdicts.flatMap((v) => (v && !v.passed ? v.findings : []));
  const failed = verdicts.some((v) => v && !v.passed);
  if (!failed) {
    return {
      state: { ...state, stage: 'merge_approval' },
      commands: [
        {
          kind: 'open_approval',
          approvalKind: 'merge',
          title: `Merge: ${state.title}`,
          body: `All gates passed on branch ${state.branch ?? '(unknown)'} (round ${state.round}).`,
        },
      ],
      applied: true,
    };
  }
  if (
    state.fixRounds > 0 &&
    state.previous &&
    state.previous.diff === state.diff &&
    sameFindings(state.previous.findings, findings)
  ) {
    return waitForHuman(
      state,
      summary(state, 'No progress: the last fix round left the same diff and the same failures for', findings),
      { kind: 'fixes', findings },
    );
  }
  if (state.fixRounds >= options.maxFixRounds) {
    return waitForHuman(state, summary(state, `Fix limit (${options.maxFixRounds}) reached for`, findings), {
      kind: 'fixes',
      findings,
    });
  }
  return startFix(state, findings, parentTaskId);
}

/** The stage a task type belongs to: its failure is stale when the workflow has moved on. */
function stageOf(taskType: TaskType): StoryStage | undefined {
  if (gateOf(taskType)) return 'gates';
  switch (taskType) {
    case 'create_user_story':
      return 'story';
    case 'write_spec':
      return 'spec';
    case 'implement_feature':
    case 'implement_fix':
      return 'implement';
    case 'merge':
      return 'merge';
    case 'deploy':
      return 'deploy';
    default:
      return undefined;
  }
}

/**
 * Where the workflow stops on a task: its payload (to run it again) with `branch` set to the branch its work is on
 * (`workBranch`: from its result or the dead-letter hook), so a resume continues that branch. A gate keeps the
 * branch it checks.
 */
function haltOn(
  state: StoryState,
  event: { taskId: number; taskType: TaskType; payload?: Record<string, unknown> },
  reason: string,
  workBranch: string | undefined,
): Extract<StoryHalt, { kind: 'task' }> {
  const { workflow_id: _workflowId, note: _note, ...payload } = event.payload ?? {};
  const payloadBranch = typeof payload.branch === 'string' ? payload.branch : undefined;
  // A gate checks the branch in its payload (the builder's), whatever branch its own session worked on.
  const branch = gateOf(event.taskType) ? payloadBranch : (workBranch ?? payloadBranch);
  return {
    kind: 'task',
    stage: state.stage,
    taskId: event.taskId,
    taskType: event.taskType,
    payload: branch ? { ...payload, branch } : payload,
    reason,
    ...(branch ? { branch } : {}),
  };
}

/** Stops the workflow on a task; a halted implementation's branch becomes the story's branch (`stories show`). */
function haltOnTask(
  state: StoryState,
  summary: string,
  event: { taskId: number; taskType: TaskType; payload?: Record<string, unknown> },
  reason: string,
  workBranch: string | undefined,
): StepOutcome {
  const halt = haltOn(state, event, reason, workBranch);
  const branch = state.stage === 'implement' && halt.branch ? halt.branch : state.branch;
  const where = !halt.branch
    ? ''
    : gateOf(event.taskType)
      ? `\nIt checks branch ${halt.branch}; a resume runs it again there.`
      : `\nIts work is on branch ${halt.branch}; a resume continues it.`;
  return waitForHuman({ ...state, ...(branch ? { branch } : {}) }, `${summary}${where}`, halt);
}

export function stepStory(state: StoryState, event: StoryEvent, options: StepOptions): StepOutcome {
  if (event.type === 'resumed') return onResumed(state, event);
  if (state.status !== 'running') return ignored(state);
  switch (event.type) {
    case 'started':
      if (state.stage !== 'story') return ignored(state);
      return {
        state,
        commands: [
          { kind: 'enqueue', taskType: 'create_user_story', payload: { title: state.title, body: state.body } },
        ],
        applied: true,
      };
    case 'task_failed': {
      // A failure of a step the workflow has left (an older round's gate, say) changes nothing.
      if (stageOf(event.taskType) !== state.stage) return ignored(state);
      if (gateOf(event.taskType) && event.round !== undefined && event.round !== state.round) return ignored(state);
      return haltOnTask(
        state,
        `The ${event.taskType} task #${event.taskId} failed for "${state.title}" and has no attempts left: ${event.error}`,
        event,
        event.error,
        event.branch,
      );
    }
    case 'task_completed':
      return onTaskCompleted(state, event, options);
    case 'approval_decided':
      return onApproval(state, event);
    case 'merged':
      if (state.stage !== 'merge') return ignored(state);
      return {
        state: { ...state, stage: 'deploy' },
        commands: [{ kind: 'enqueue', taskType: 'deploy', payload: { title: state.title, sha: event.sha } }],
        applied: true,
      };
    case 'merge_refused':
      if (state.stage !== 'merge') return ignored(state);
      if (event.rerunGates) {
        return {
          state: { ...state, stage: 'gates', gates: {} },
          commands: GATE_NAMES.map((gate) => ({
            kind: 'enqueue' as const,
            taskType: GATE_TASK_TYPES[gate],
            payload: {
              title: state.title,
              branch: state.branch,
              round: state.round,
              spec: state.spec,
              note: event.reason,
            },
          })),
          applied: true,
        };
      }
      return startFix(state, [`merge: ${event.reason}`]);
  }
}

function onTaskCompleted(
  state: StoryState,
  event: Extract<StoryEvent, { type: 'task_completed' }>,
  options: StepOptions,
): StepOutcome {
  const result = resultOf(event.result);
  const resultBranch = typeof result.branch === 'string' && result.branch.trim() ? result.branch : undefined;
  if (result.status === 'blocked') {
    const reason = blockedReason(result);
    if (stageOf(event.taskType) !== state.stage) return ignored(state);
    if (gateOf(event.taskType) && (event.round !== state.round || state.gates[gateOf(event.taskType)!])) {
      return ignored(state);
    }
    return haltOnTask(
      state,
      `The ${event.taskType} task #${event.taskId} is blocked for "${state.title}": ${reason}`,
      event,
      reason,
      resultBranch,
    );
  }
  const gate = gateOf(event.taskType);
  if (gate) {
    if (state.stage !== 'gates' || event.round !== state.round || state.gates[gate]) return ignored(state);
    const gated = { ...state, gates: { ...state.gates, [gate]: gateVerdict(gate, event.result, event.deterministic) } };
    return join(gated, event.taskId, options);
  }
  switch (event.taskType) {
    case 'create_user_story':
      if (state.stage !== 'story') return ignored(state);
      return {
        state: { ...state, stage: 'spec', story: event.result },
        commands: [
          {
            kind: 'enqueue',
            taskType: 'write_spec',
            payload: { title: state.title, body: state.body, story: event.result },
            parentTaskId: event.taskId,
          },
        ],
        applied: true,
      };
    case 'write_spec':
      if (state.stage !== 'spec') return ignored(state);
      return {
        state: { ...state, stage: 'spec_approval', spec: event.result },
        commands: [
          {
            kind: 'open_approval',
            approvalKind: 'spec',
            title: `Spec: ${state.title}`,
            body: typeof result.spec_markdown === 'string' ? result.spec_markdown : '',
          },
        ],
        applied: true,
      };
    case 'implement_feature':
    case 'implement_fix': {
      if (state.stage !== 'implement' || (event.round ?? 0) !== state.round) return ignored(state);
      const branch = typeof result.branch === 'string' ? result.branch : state.branch;
      const next = { ...state, stage: 'gates' as const, branch, gates: {}, diff: event.diff ?? diffOf(result) };
      return { state: next, commands: gateCommands(next, event.taskId), applied: true };
    }
    case 'deploy': {
      if (state.stage !== 'deploy') return ignored(state);
      const outcome = String(result.outcome);
      const said = typeof result.summary === 'string' ? result.summary : outcome;
      const deployment = { outcome, summary: said };
      if (outcome !== 'succeeded' && outcome !== 'skipped') {
        return haltOnTask(
          { ...state, deployment },
          `The deployment of "${state.title}" ended ${outcome}: ${said}`,
          event,
          said,
          undefined,
        );
      }
      // "skipped": no deploy command; the workflow completes and its summary says nothing was deployed.
      return { state: { ...state, stage: 'done', status: 'completed', deployment }, commands: [], applied: true };
    }
    default:
      return ignored(state);
  }
}

/** Why an agent is blocked: its `blocked_reason` (the contract's field), else its summary. */
function blockedReason(result: Record<string, unknown>): string {
  for (const field of ['blocked_reason', 'summary']) {
    const value = result[field];
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  return 'no reason given';
}

/** Without a computed diff hash, the head commit names the diff. */
function diffOf(result: Record<string, unknown>): string | undefined {
  if (typeof result.head_commit === 'string') return result.head_commit;
  const commits = Array.isArray(result.commits) ? (result.commits as { sha?: unknown }[]) : [];
  const last = commits.at(-1)?.sha;
  return typeof last === 'string' ? last : undefined;
}

function onApproval(state: StoryState, event: Extract<StoryEvent, { type: 'approval_decided' }>): StepOutcome {
  if (event.kind === 'spec') {
    if (state.stage !== 'spec_approval') return ignored(state);
    if (event.decision === 'approved') {
      return {
        state: { ...state, stage: 'implement', round: 0 },
        commands: [
          {
            kind: 'enqueue',
            taskType: 'implement_feature',
            payload: { title: state.title, spec: state.spec, round: 0 },
          },
        ],
        applied: true,
      };
    }
    const reason = event.reason ?? '';
    return {
      state: { ...state, stage: 'spec', specRejections: [...state.specRejections, reason] },
      commands: [
        {
          kind: 'enqueue',
          taskType: 'write_spec',
          payload: {
            title: state.title,
            body: state.body,
            story: state.story,
            previous_spec: state.spec,
            rejection_reason: reason,
          },
        },
      ],
      applied: true,
    };
  }
  if (state.stage !== 'merge_approval') return ignored(state);
  if (event.decision === 'approved')
    return { state: { ...state, stage: 'merge' }, commands: [{ kind: 'merge' }], applied: true };
  return startFix(state, [`merge rejected: ${event.reason ?? ''}`]);
}

/**
 * A human resumes a workflow that waits for one: after the fix limit or a round without progress, one more fix round
 * with the open findings and the note (the fix-round count continues, so the limit stops it again at the next stop);
 * after a failed or blocked task, that task again with the note (for a gate, every gate of the round still without a
 * verdict). A workflow that is not waiting is not resumed.
 */
function onResumed(state: StoryState, event: Extract<StoryEvent, { type: 'resumed' }>): StepOutcome {
  if (state.status !== 'waiting_for_human') return ignored(state);
  const note = event.note;
  const { halt, humanSummary: _summary, ...rest } = state;
  const running: StoryState = { ...rest, status: 'running' };
  if (!halt || halt.kind === 'fixes') {
    if (!state.branch) return ignored(state);
    const findings = [...(halt?.findings ?? []), ...(note ? [`human: ${note}`] : [])];
    return startFix(running, findings);
  }
  const withNote = (payload: Record<string, unknown>) => (note ? { ...payload, note } : payload);
  const resumed: StoryState = { ...running, stage: halt.stage };
  if (halt.stage === 'gates') {
    const missing = GATE_NAMES.filter((gate) => !state.gates[gate]);
    return {
      state: resumed,
      commands: missing.map((gate) => ({
        kind: 'enqueue' as const,
        taskType: GATE_TASK_TYPES[gate],
        payload: withNote(
          GATE_TASK_TYPES[gate] === halt.taskType
            ? halt.payload
            : { title: state.title, branch: state.branch, round: state.round, spec: state.spec },
        ),
        parentTaskId: halt.taskId,
      })),
      applied: true,
    };
  }
  return {
    state: resumed,
    commands: [
      { kind: 'enqueue', taskType: halt.taskType, payload: withNote(halt.payload), parentTaskId: halt.taskId },
    ],
    applied: true,
  };
}
