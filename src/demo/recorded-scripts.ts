/**
 * @module The demo's recorded sessions (`examples/recordings/*.jsonl`, as recorded) read as scripts for the stand-in
 * model (scripted-agent.ts): each recorded tool call becomes one model turn that makes the REAL Claude Code CLI do it
 * in the sandbox, and what the CLI then reports replaces the recorded output. Pure, apart from reading the files.
 *
 * - `thinking` and `text` lines go into the next turn's answer (a thinking block, a text before its tool call);
 * - `tool_call` of `Bash` (the command), `Read` (the path) or `mcp__autodev__<tool>` (the input) becomes that step;
 *   a `Write` with the `file_change` line after it (its `content`) becomes a write step, preceded by a read of the
 *   file when it replaces one the session has not read (Claude Code's Write refuses that);
 * - the recorded `tool_result` becomes the step's check: the real result must also succeed (or also fail), which the
 *   demo reports when it does not; a recorded call with no result (the builder's commit) must succeed;
 * - `usage` lines (running totals) are split into per-turn counts, reported on the turn they follow, so the CLI's
 *   session totals are the recorded ones; every other turn (tool searches, the closing text) reports none;
 * - the `outcome`'s `resultText` is the closing text. `session_started`, `result`, `delay` lines are not played.
 *
 * Strings may hold `{{branch}}` (the task branch Auto-Dev's prompt names), `{{task_id}}`, and `{{head}}` /
 * `{{head_short}}`: the sha printed by the session's latest `git rev-parse HEAD` call before it. The first turn opens
 * with a line saying the session is a recording played by a stand-in model.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FENCE_TAG } from '../agents/render-prompt.js';
import { roleForTaskType } from '../domain/roles.js';
import { parseRecordedSession, type RecordedLine } from '../llm/replay-provider.js';
import type { SessionEvent, TokenUsage } from '../llm/session-events.js';
import { DEMO_RECORDINGS, recordingFor, roundOf } from './recordings.js';
import type {
  AgentStep,
  ChooseScript,
  McpToolName,
  StepContext,
  StepExpectation,
  StepExtras,
} from './scripted-agent.js';

const MCP_TOOL = /^mcp__autodev__(read_task|submit_result|create_task|post_discussion|propose|vote)$/;
const PLACEHOLDER = /\{\{(\w+)\}\}/g;
const KNOWN_PLACEHOLDERS = new Set(['branch', 'task_id', 'head', 'head_short']);
/** The command whose output `{{head}}` is. */
export const HEAD_COMMAND = 'git rev-parse HEAD';

type ToolResult = Extract<SessionEvent, { type: 'tool_result' }>;

/** The line every demo session's first answer opens with (the transcript says what it is). */
export function standInLabel(fileName: string): string {
  return `[recorded session ${fileName}, played by Auto-Dev's local stand-in model: no model is called]`;
}

/**
 * The script a recorded session's text plays. Throws an error naming the file and what is wrong (a tool the
 * stand-in cannot play, a Write without its content, an unknown placeholder, `{{head}}` before any
 * `git rev-parse HEAD`).
 */
export function scriptFromRecording(text: string, fileName: string): AgentStep[] {
  const lines = parseRecordedSession(text, fileName);
  const steps: AgentStep[] = [];
  const usageAfter = new Map<number, TokenUsage>();
  let thinking: string[] = [];
  let said: string[] = [];
  let lastTotal: TokenUsage = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_creation_tokens: 0 };
  /** Files the session read so far (Claude Code's Write replaces only those). */
  const read = new Set<string>();
  /** The step of the latest `git rev-parse HEAD` so far. */
  let headStep: number | undefined;
  const where = (what: string) => new Error(`${fileName}: ${what}`);

  const push = (step: AgentStep) => {
    const extras: StepExtras = {};
    if (thinking.length > 0) extras.thinking = thinking.join('\n\n');
    if (said.length > 0) extras.preface = said.join('\n\n');
    if (steps.length === 0) extras.preface = [standInLabel(fileName), extras.preface].filter(Boolean).join('\n\n');
    steps.push({ ...step, ...extras } as AgentStep);
    thinking = [];
    said = [];
  };
  const dynamic = <T>(value: T): T | ((context: StepContext) => T) => {
    const json = JSON.stringify(value);
    const names = [...json.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
    if (names.length === 0) return value;
    const unknown = names.find((name) => !KNOWN_PLACEHOLDERS.has(name));
    if (unknown) throw where(`unknown placeholder {{${unknown}}}`);
    const headAt = headStep;
    if (names.some((name) => name.startsWith('head')) && headAt === undefined) {
      throw where(`{{head}} is used before any \`${HEAD_COMMAND}\` call, so there is no sha to fill in`);
    }
    return (context) => JSON.parse(fill(json, context, headAt)) as T;
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as RecordedLine;
    if (line.kind === 'outcome') {
      push({ say: line.outcome.resultText || 'Done.' });
      continue;
    }
    if (line.kind !== 'event') {
      if (line.kind === 'file') throw where(`a file_change of ${line.path} must follow its Write tool_call`);
      continue;
    }
    const event = line.event;
    switch (event.type) {
      case 'thinking':
        thinking.push(event.text);
        break;
      case 'text':
        said.push(event.text);
        break;
      case 'usage': {
        const total = { ...event } as Partial<typeof event>;
        delete total.type;
        delete total.cost_usd;
        const current = total as TokenUsage;
        const index = Math.max(steps.length - 1, 0);
        usageAfter.set(index, addUsage(usageAfter.get(index), minusUsage(current, lastTotal)));
        lastTotal = current;
        break;
      }
      case 'tool_call': {
        const result = resultOf(lines, i, event.id);
        const expect = expectationOf(result);
        const input = (event.input ?? {}) as Record<string, unknown>;
        const mcp = MCP_TOOL.exec(event.name);
        if (mcp) {
          push({ mcp: { tool: mcp[1] as McpToolName, input: dynamic(input) }, expect });
        } else if (event.name === 'Bash' && typeof input.command === 'string') {
          if (input.command.trim() === HEAD_COMMAND) headStep = steps.length;
          push({ bash: dynamic(input.command), expect });
        } else if (event.name === 'Read' && typeof input.file_path === 'string') {
          push({ read: dynamic(input.file_path), expect });
          read.add(input.file_path);
        } else if (event.name === 'Write' && typeof input.file_path === 'string') {
          const change = lines[i + 1];
          if (change?.kind !== 'file' || change.path !== input.file_path || change.content === undefined) {
            throw where(`the Write of ${input.file_path} must be followed by its file_change line with the content`);
          }
          if (change.change === 'delete') throw where(`a Write cannot delete ${change.path}`);
          // Claude Code's Write refuses to replace a file the session has not read: read it first, as the CLI asks.
          if (change.change === 'update' && !read.has(change.path)) {
            push({ read: change.path, expect: { ok: true } });
            read.add(change.path);
          }
          push({ write: dynamic({ path: change.path, content: change.content }), expect });
          i += 1;
        } else {
          throw where(`the stand-in cannot play a ${event.name} tool call (Bash, Read, Write and the autodev tools)`);
        }
        break;
      }
      default:
        // tool_result (used as the check above), session_started, result: not played.
        break;
    }
  }
  const zero = { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_creation_tokens: 0 };
  return steps.map((step, index) => ({ ...step, usage: usageAfter.get(index) ?? zero }));
}

/** The recorded result of the tool call at `index`, if one was recorded. */
function resultOf(lines: readonly RecordedLine[], index: number, id: string): ToolResult | undefined {
  for (const line of lines.slice(index + 1)) {
    if (line.kind === 'event' && line.event.type === 'tool_result' && line.event.id === id) return line.event;
  }
  return undefined;
}

function expectationOf(result: ToolResult | undefined): StepExpectation {
  return { ok: result ? !result.is_error : true };
}

function fill(json: string, context: StepContext, headStep: number | undefined): string {
  const head = headStep === undefined ? '' : shaIn(context.results[headStep]?.output ?? '');
  const values: Record<string, string> = {
    branch: context.facts.branch ?? '',
    task_id: context.facts.taskId === undefined ? '' : String(context.facts.taskId),
    head,
    head_short: head.slice(0, 7),
  };
  return json.replace(PLACEHOLDER, (whole, name: string) => {
    const value = values[name];
    return value === undefined ? whole : JSON.stringify(value).slice(1, -1);
  });
}

/** The sha `git rev-parse HEAD` printed. */
function shaIn(output: string): string {
  return /\b([0-9a-f]{40})\b/.exec(output)?.[1] ?? '';
}

function minusUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    input_tokens: Math.max(0, a.input_tokens - b.input_tokens),
    output_tokens: Math.max(0, a.output_tokens - b.output_tokens),
    cache_read_tokens: Math.max(0, a.cache_read_tokens - b.cache_read_tokens),
    cache_creation_tokens: Math.max(0, a.cache_creation_tokens - b.cache_creation_tokens),
  };
}

function addUsage(a: TokenUsage | undefined, b: TokenUsage): TokenUsage {
  if (!a) return b;
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cache_read_tokens: a.cache_read_tokens + b.cache_read_tokens,
    cache_creation_tokens: a.cache_creation_tokens + b.cache_creation_tokens,
  };
}

/** Every recording of the demo story read as its script, keyed by file name; fails on the first bad file. */
export async function loadDemoScripts(dir: string): Promise<Map<string, AgentStep[]>> {
  const scripts = new Map<string, AgentStep[]>();
  for (const entry of DEMO_RECORDINGS) {
    const text = await readFile(path.join(dir, entry.file), 'utf8');
    scripts.set(entry.file, scriptFromRecording(text, entry.file));
  }
  return scripts;
}

/** The task payload Auto-Dev's prompt shows (its fenced JSON block), or {} when it cannot be read. */
export function promptPayload(prompt: string): Record<string, unknown> {
  const block = new RegExp(
    `<${FENCE_TAG} id="[^"]*" label="task payload \\(JSON\\)">\\n([\\s\\S]*?)\\n</${FENCE_TAG}`,
  ).exec(prompt)?.[1];
  try {
    const value = JSON.parse(block ?? '{}') as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/**
 * Chooses a session's script from Auto-Dev's prompt: the recording for its task type and round. A session the demo
 * has no recording for (say a third fix round) gets an error the stand-in says instead of improvising.
 */
export function demoScriptChooser(scripts: ReadonlyMap<string, AgentStep[]>, dir: string): ChooseScript {
  return (prompt, facts) => {
    const taskType = facts.taskType ?? '';
    const round = roundOf(promptPayload(prompt));
    let role;
    try {
      role = roleForTaskType(taskType as Parameters<typeof roleForTaskType>[0]);
    } catch {
      throw new Error(`the demo has no recorded session for task type "${taskType}"`);
    }
    const file = recordingFor({ role, taskType, round }, dir);
    const steps = file ? scripts.get(path.basename(file)) : undefined;
    if (!steps) {
      throw new Error(
        `the demo has no recorded session for ${role} ${taskType} round ${round}; it only plays the story it ships with`,
      );
    }
    return steps;
  };
}
