/**
 * @module Scripted agents for the model-API stand-ins: a provider-neutral script (run a shell command, read or write a
 * file, call an Auto-Dev MCP tool, say something, or stall: never answer, like a model that hangs) chosen from the
 * prompt Auto-Dev rendered, played one step per model turn. `autodev demo` plays its recorded sessions this way
 * (recorded-scripts.ts), and the tests their scripted agents: never a live model. The stand-ins (scripted-claude.ts
 * for Claude Code; the tests' scripted-codex.ts) translate steps into each CLI's real tool calls and hand back what
 * the CLI reported for earlier steps; this module picks the next step, checks each reported result against the
 * step's expectation (failures are recorded for the caller to report or assert on), and keeps per-session turn times.
 * It holds no conversation state: the step is derived from the conversation the CLI sends, so one stand-in serves many
 * concurrent sessions and a retried request gets the same answer.
 */
import type { TokenUsage } from '../llm/session-events.js';

/** The tools of Auto-Dev's session MCP server (`autodev mcp`). */
export type McpToolName =
  | 'read_task'
  | 'submit_result'
  | 'create_task'
  | 'post_discussion'
  | 'propose'
  | 'vote'
  | 'search_memory'
  | 'add_memory';

/** What the CLI reported for one step's tool call. */
export interface ToolOutcome {
  output: string;
  isError: boolean;
  /** For shell commands: the exit code the CLI reported. */
  exitCode?: number;
}

/** Facts Auto-Dev's rendered prompt states (src/agents/render-prompt.ts). */
export interface PromptFacts {
  /** "Reviewer", "Builder", ... from "# You are the Auto-Dev <Role> agent". */
  roleTitle?: string;
  taskId?: number;
  taskType?: string;
  branch?: string;
  worktree?: string;
  readOnly: boolean;
}

/** What a step's dynamic part may look at: the prompt, and what earlier steps returned (in script order). */
export interface StepContext {
  prompt: string;
  facts: PromptFacts;
  results: readonly ToolOutcome[];
}

export type Dynamic<T> = T | ((context: StepContext) => T);

/** The check of a step's result: failures are recorded (`ScriptedAgents.failures`), the script goes on. */
export interface StepExpectation {
  exitCode?: number;
  /** The tool reported success (true) or an error (false). */
  ok?: boolean;
  outputIncludes?: string;
}

/**
 * What a turn says besides its tool call (all optional): its thinking, a text before the call (`preface`), and the
 * token counts the answer reports (the demo's recorded usage; otherwise the stand-in's default).
 */
export interface StepExtras {
  thinking?: string;
  preface?: string;
  usage?: TokenUsage;
}

export type AgentStep = StepExtras &
  (
    | { bash: Dynamic<string>; expect?: StepExpectation }
    | { read: Dynamic<string>; expect?: StepExpectation }
    | { write: Dynamic<{ path: string; content: string }>; expect?: StepExpectation }
    | { mcp: { tool: McpToolName; input: Dynamic<Record<string, unknown>> }; expect?: StepExpectation }
    | { say: string }
    /** The model never answers this turn: the stand-in holds the request open until the CLI goes away. */
    | { stall: true }
  );

/** Picks the script for a session from the prompt Auto-Dev rendered for it. */
export type ChooseScript = (prompt: string, facts: PromptFacts) => AgentStep[];

/** A step with its dynamic parts evaluated: what the stand-in must make the CLI do next. */
export type ResolvedStep = StepExtras &
  (
    | { kind: 'bash'; index: number; command: string }
    | { kind: 'read'; index: number; path: string }
    | { kind: 'write'; index: number; path: string; content: string }
    | { kind: 'mcp'; index: number; tool: McpToolName; input: Record<string, unknown> }
    | { kind: 'say'; index: number; text: string }
    | { kind: 'stall'; index: number }
  );

/** What a stand-in answered a model request with. */
export type TurnKind = ResolvedStep['kind'] | 'tool_search';

export interface StepFailure {
  provider: string;
  session: string;
  step: number;
  message: string;
}

/** One model request of a session, as the stand-in saw it. */
export interface TurnRecord {
  at: number;
  answered: TurnKind;
}

export interface SessionTurns {
  provider: string;
  session: string;
  facts: PromptFacts;
  /** The task prompt of the session's first request. */
  prompt: string;
  /** How many tool results the session's first request already carried (0 for a fresh conversation). */
  firstResults: number;
  turns: TurnRecord[];
}

/**
 * Where a session's wall time went, as far as the stand-in can see: from the first model request to the last, the
 * time the CLI took after each answer until its next request, by what the answer asked for (tool time includes the
 * CLI's own work around the tool). Model time is ~0: the stand-in answers at once.
 */
export interface TurnTimings {
  requests: number;
  firstRequestAt: number;
  lastRequestAt: number;
  afterAnswerMs: Partial<Record<TurnKind, number>>;
}

const FINAL_WORDS = 'Done.';

function matchOne(text: string, pattern: RegExp): string | undefined {
  return pattern.exec(text)?.[1]?.trim();
}

export function promptFacts(prompt: string): PromptFacts {
  const id = matchOne(prompt, /^- Id: (\d+)$/m);
  const facts: PromptFacts = { readOnly: /^- Your checkout is read-only/m.test(prompt) };
  const roleTitle = matchOne(prompt, /^# You are the Auto-Dev (.+) agent$/m);
  const taskType = matchOne(prompt, /^- Type: ([a-z_]+)/m);
  const branch = matchOne(prompt, /^- Your branch: (.+)$/m);
  const worktree = matchOne(prompt, /^- Your worktree: (.+)$/m);
  if (roleTitle) facts.roleTitle = roleTitle;
  if (id) facts.taskId = Number(id);
  if (taskType) facts.taskType = taskType;
  if (branch) facts.branch = branch;
  if (worktree) facts.worktree = worktree;
  return facts;
}

function describeOutcome(outcome: ToolOutcome): string {
  const code = outcome.exitCode === undefined ? '' : ` exit ${outcome.exitCode}`;
  return `${outcome.isError ? 'error' : 'ok'}${code}: ${outcome.output.slice(0, 500)}`;
}

function checkOutcome(expect: StepExpectation, outcome: ToolOutcome): string | undefined {
  if (expect.exitCode !== undefined && outcome.exitCode !== expect.exitCode) {
    return `expected exit code ${expect.exitCode}, got ${describeOutcome(outcome)}`;
  }
  if (expect.ok !== undefined && outcome.isError === expect.ok) {
    return `expected ${expect.ok ? 'success' : 'an error'}, got ${describeOutcome(outcome)}`;
  }
  if (expect.outputIncludes !== undefined && !outcome.output.includes(expect.outputIncludes)) {
    return `expected output including ${JSON.stringify(expect.outputIncludes)}, got ${describeOutcome(outcome)}`;
  }
  return undefined;
}

/** One model turn of a session, as a stand-in parsed it from the request. */
export interface AgentTurn {
  provider: 'claude' | 'codex';
  /** The CLI's session (conversation) id. */
  session: string;
  /** The task prompt (the user message Auto-Dev sent, without the CLI's own reminders). */
  prompt: string;
  /** What the CLI reported for each script step so far, in order (tool searches left out). */
  results: readonly ToolOutcome[];
}

/**
 * Plays scripts chosen by `choose` for every session that reaches a stand-in. Construct one per test file and give it
 * to `scriptedClaude` / `scriptedCodex`.
 */
export class ScriptedAgents {
  readonly failures: StepFailure[] = [];
  private readonly sessions = new Map<string, SessionTurns>();
  private readonly checked = new Set<string>();

  constructor(private readonly choose: ChooseScript) {}

  /** The step that answers this turn; checks the results reported for earlier steps first. */
  next(turn: AgentTurn): ResolvedStep {
    const facts = promptFacts(turn.prompt);
    this.sessionTurns(turn, facts);
    let script: AgentStep[];
    try {
      script = this.choose(turn.prompt, facts);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.fail(turn, 0, `no script for this prompt: ${reason}`);
      return { kind: 'say', index: 0, text: `I have no script for this task (${reason}).` };
    }
    turn.results.forEach((outcome, index) => {
      const key = `${turn.provider}:${turn.session}:${index}`;
      const step = script[index];
      if (this.checked.has(key) || !step || 'say' in step || 'stall' in step || !step.expect) return;
      this.checked.add(key);
      const problem = checkOutcome(step.expect, outcome);
      if (problem) this.fail(turn, index, problem);
    });
    const index = turn.results.length;
    const step = script[index];
    const context: StepContext = { prompt: turn.prompt, facts, results: turn.results };
    const value = <T>(dynamic: Dynamic<T>): T =>
      typeof dynamic === 'function' ? (dynamic as (c: StepContext) => T)(context) : dynamic;
    if (!step) return { kind: 'say', index, text: FINAL_WORDS };
    const extras: StepExtras = {
      ...(step.thinking !== undefined ? { thinking: step.thinking } : {}),
      ...(step.preface !== undefined ? { preface: step.preface } : {}),
      ...(step.usage !== undefined ? { usage: step.usage } : {}),
    };
    if ('say' in step) return { kind: 'say', index, text: step.say, ...extras };
    if ('stall' in step) return { kind: 'stall', index };
    if ('bash' in step) return { kind: 'bash', index, command: value(step.bash), ...extras };
    if ('read' in step) return { kind: 'read', index, path: value(step.read), ...extras };
    if ('write' in step) return { kind: 'write', index, ...value(step.write), ...extras };
    return { kind: 'mcp', index, tool: step.mcp.tool, input: value(step.mcp.input), ...extras };
  }

  /** Records what a request of `session` was answered with (for the timings). */
  answered(provider: string, session: string, answered: TurnKind, at: number): void {
    this.sessions.get(`${provider}:${session}`)?.turns.push({ at, answered });
  }

  /** A problem the stand-in found (e.g. a tool search that did not load the tool). */
  fail(turn: Pick<AgentTurn, 'provider' | 'session'>, step: number, message: string): void {
    this.failures.push({ provider: turn.provider, session: turn.session, step, message });
  }

  /** Sessions seen so far, oldest first. */
  allSessions(): SessionTurns[] {
    return [...this.sessions.values()];
  }

  /** A session by the CLI's own id (Auto-Dev records it as the session's `provider_session_id`). */
  session(provider: string, cliSessionId: string | null): SessionTurns | undefined {
    return cliSessionId === null ? undefined : this.sessions.get(`${provider}:${cliSessionId}`);
  }

  /** The failures recorded for one session. */
  failuresOf(provider: string, cliSessionId: string | null): StepFailure[] {
    return this.failures.filter((f) => f.provider === provider && f.session === cliSessionId);
  }

  private sessionTurns(turn: AgentTurn, facts: PromptFacts): SessionTurns {
    const key = `${turn.provider}:${turn.session}`;
    let record = this.sessions.get(key);
    if (!record) {
      record = {
        provider: turn.provider,
        session: turn.session,
        facts,
        prompt: turn.prompt,
        firstResults: turn.results.length,
        turns: [],
      };
      this.sessions.set(key, record);
    }
    return record;
  }
}

export function turnTimings(session: SessionTurns): TurnTimings {
  const { turns } = session;
  const afterAnswerMs: Partial<Record<TurnKind, number>> = {};
  for (let i = 0; i + 1 < turns.length; i++) {
    const { answered, at } = turns[i]!;
    afterAnswerMs[answered] = (afterAnswerMs[answered] ?? 0) + (turns[i + 1]!.at - at);
  }
  return {
    requests: turns.length,
    firstRequestAt: turns[0]?.at ?? 0,
    lastRequestAt: turns.at(-1)?.at ?? 0,
    afterAnswerMs,
  };
}

/** Splits a patch-friendly file body into lines (apply_patch adds a final newline itself). */
export function contentLines(content: string): string[] {
  const body = content.endsWith('\n') ? content.slice(0, -1) : content;
  return body.split('\n');
}
