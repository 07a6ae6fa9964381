/**
 * @module The demo's progress lines (pure): a stage the story entered, and what a finished agent task did. Every line
 * about an agent's work says the session was a recording played by the stand-in model, so a reader never mistakes the
 * demo for a live model.
 */
import type { StoryState } from '../workflow/workflow-steps.js';

export const RECORDED = '(recorded session, stand-in model)';
export const NO_SESSION = '(deterministic step, no agent session)';

/** Role of each task type the demo runs. */
const ROLE_OF: Record<string, string> = {
  create_user_story: 'PM',
  write_spec: 'Architect',
  implement_feature: 'Builder',
  implement_fix: 'Builder',
  review_mr: 'Reviewer',
  run_tests: 'Tester',
  security_scan: 'Security',
  merge: 'DevOps',
  deploy: 'DevOps',
};

/** The line for a stage the workflow entered. */
export function stageLine(stage: string, round: number): string {
  const label: Record<string, string> = {
    story: 'story: the PM writes the user story',
    spec: 'spec: the Architect writes the spec',
    spec_approval: 'spec approval: a human gate',
    implement:
      round === 0
        ? 'implement: the Builder writes the change'
        : `implement_fix round ${round}: the Builder fixes the findings`,
    gates: `gates round ${round}: Reviewer + Tester + Security in parallel`,
    merge_approval: 'merge approval: a human gate',
    merge: 'merge: a real merge commit on the default branch',
    deploy: 'deploy: DevOps',
    done: 'done',
    waiting_for_human: 'waiting for a human',
  };
  return `▶ stage ${label[stage] ?? stage}`;
}

const short = (sha: unknown) => (typeof sha === 'string' ? sha.slice(0, 7) : '?');
const list = (value: unknown) => (Array.isArray(value) ? value.map(String).join(', ') : '');

/** What a completed task's agent did, in one line (labelled as a recorded session). */
export function taskLine(task: { id: number; type: string }, result: Record<string, unknown>, tokens: number): string {
  // Deterministic steps (merge, deploy) run no agent session: they are not labelled as recorded, because nothing was.
  const who = `${ROLE_OF[task.type] ?? task.type} ${result.session_id === undefined ? NO_SESSION : RECORDED}`;
  const tail = ` [task #${task.id}, ${tokens.toLocaleString('en-US')} tokens]`;
  if (result.status === 'blocked')
    return `  ✗ ${who} is blocked: ${String(result.blocked_reason ?? result.summary)}${tail}`;
  switch (task.type) {
    case 'create_user_story': {
      const stories = Array.isArray(result.stories)
        ? (result.stories as { title?: unknown; acceptance_criteria?: unknown[] }[])
        : [];
      const first = stories[0];
      return `  ✓ ${who} wrote the user story "${String(first?.title ?? '?')}" (${first?.acceptance_criteria?.length ?? 0} acceptance criteria)${tail}`;
    }
    case 'write_spec':
      return `  ✓ ${who} wrote the spec; files to touch: ${list(result.files_to_touch)}${tail}`;
    case 'implement_feature':
    case 'implement_fix': {
      const commits = Array.isArray(result.commits) ? (result.commits as { sha?: unknown; message?: unknown }[]) : [];
      const last = commits.at(-1);
      return (
        `  ✓ ${who} committed ${short(last?.sha)} "${String(last?.message ?? '')}" on ${String(result.branch ?? '?')}: ` +
        `${list(result.files_changed)}${tail}`
      );
    }
    case 'review_mr': {
      const findings = Array.isArray(result.findings) ? result.findings.length : 0;
      return `  ✓ ${who} review verdict: ${String(result.verdict)} (${findings} finding${findings === 1 ? '' : 's'})${tail}`;
    }
    case 'run_tests': {
      const failures = Array.isArray(result.failures) ? (result.failures as { name?: unknown }[]) : [];
      const names = failures.length > 0 ? `; failing: ${failures.map((f) => String(f.name)).join(', ')}` : '';
      return (
        `  ✓ ${who} ran \`${String(result.command)}\`: ${String(result.passed)} passed, ${String(result.failed)} failed` +
        `${names}${tail}`
      );
    }
    case 'security_scan': {
      const findings = Array.isArray(result.findings) ? result.findings.length : 0;
      return `  ✓ ${who} security verdict: ${String(result.verdict)} (${findings} finding${findings === 1 ? '' : 's'})${tail}`;
    }
    case 'merge':
      return `  ✓ ${who} merge ${String(result.outcome)}: ${String(result.summary)}${tail}`;
    case 'deploy':
      return `  ✓ ${who} deploy ${String(result.outcome)}: ${String(result.summary)}${tail}`;
    default:
      return `  ✓ ${who} ${task.type}: ${String(result.summary ?? '')}${tail}`;
  }
}

/** What the gate join decided, from the workflow's state after it (not an agent's work: the workflow's). */
export function gatesLine(from: string, to: string, state: StoryState): string | undefined {
  if (from !== 'gates') return undefined;
  if (to === 'merge_approval') return `  = gates round ${state.round}: review, tests and security all passed`;
  if (to === 'implement') {
    // A finding may carry a test run's output tail: its first line says what failed.
    const findings = (state.previous?.findings ?? []).map((f) => f.split('\n')[0]?.trim() ?? '');
    return `  = gates round ${state.round - 1} FAILED, so the Builder gets an implement_fix task with ${findings.length} finding(s): ${findings.join(' | ')}`;
  }
  if (to === 'waiting_for_human') return `  = gates stopped: ${state.humanSummary ?? ''}`;
  return undefined;
}
