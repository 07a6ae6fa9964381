/**
 * @module Plays scripted agents (scripted-agent.ts) as the model behind the REAL Claude Code CLI, through the Messages
 * API stand-in (scripted-model-server.ts): `autodev demo`'s recorded sessions and the tests' scripted agents. Follows
 * what Claude Code 2.1.3xx really does (seen by logging its requests):
 * - The first request's `tools` hold only the built-in tools (Bash, Write, Read, ..., ToolSearch) and a
 *   `DeferredToolPlaceholder`; MCP tools are only named in a `<system-reminder>` ("The following deferred tools are now
 *   available via ToolSearch ... mcp__autodev__read_task ...").
 * - A `ToolSearch` tool_use with `{"query": "select:mcp__autodev__read_task", "max_results": 5}` is answered by the CLI
 *   with a tool_result whose content is `[{type: "tool_reference", tool_name: "mcp__autodev__read_task"}]`; from the
 *   next request on, `tools` carries that tool (`defer_loading: true`) and the model may call it by that name.
 * - Bash results are the command's output; a failing command comes back with `is_error: true` and "Exit code N".
 * So a script's MCP step is preceded by a ToolSearch turn whenever its tool is not loaded yet. A step's file paths are
 * made absolute against the session's working directory (Read and Write want absolute paths).
 */
import path from 'node:path';
import type { TokenUsage } from '../llm/session-events.js';
import type {
  MessagesRequest,
  MessagesScript,
  MessagesUsage,
  ScriptedReply,
  StallReply,
} from './scripted-model-server.js';
import type { ResolvedStep, ScriptedAgents, ToolOutcome, TurnKind } from './scripted-agent.js';

/** The MCP server name Auto-Dev gives its session tools (run-agent-task.ts `mcpServers.autodev`). */
const MCP_PREFIX = 'mcp__autodev__';

interface Block {
  type?: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: unknown;
  is_error?: boolean;
}

function blocksOf(content: unknown): Block[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content as Block[]) : [];
}

function resultText(content: unknown): string {
  return blocksOf(content)
    .map((block) => (block.type === 'text' ? (block.text ?? '') : ''))
    .join('\n');
}

/** The text of a user message without Claude Code's `<system-reminder>` blocks ('' for tool results only). */
function promptText(message: { role: string; content: unknown }): string {
  if (message.role !== 'user') return '';
  return blocksOf(message.content)
    .filter((block) => block.type === 'text' && !block.text?.startsWith('<system-reminder>'))
    .map((block) => block.text ?? '')
    .join('\n');
}

/** How every task prompt Auto-Dev renders opens (agents/render-prompt.ts). */
const TASK_PROMPT = /^# You are the Auto-Dev .+ agent$/m;

/**
 * Where the current task prompt is: the last user message holding an Auto-Dev task prompt (a retry that resumes an
 * earlier CLI conversation appends its new prompt, and the script starts again from there; other texts the CLI adds
 * do not count), else the first user message.
 */
function promptIndex(request: MessagesRequest): number {
  const messages = request.messages ?? [];
  for (let i = messages.length - 1; i >= 0; i--) if (TASK_PROMPT.test(promptText(messages[i]!))) return i;
  const first = messages.findIndex((message) => message.role === 'user');
  return first >= 0 ? first : 0;
}

/** The task prompt: the current user prompt without Claude Code's `<system-reminder>` blocks. */
export function claudePrompt(request: MessagesRequest): string {
  const message = (request.messages ?? [])[promptIndex(request)];
  return message ? promptText(message) : '';
}

/** Claude Code's session id: in `metadata.user_id` (a JSON string) of every request. */
export function claudeSessionId(request: MessagesRequest): string {
  const metadata = request.metadata as { user_id?: string } | undefined;
  try {
    const parsed = JSON.parse(metadata?.user_id ?? '{}') as { session_id?: string };
    if (parsed.session_id) return parsed.session_id;
  } catch {
    // not JSON: fall through
  }
  return `prompt:${claudePrompt(request).slice(0, 200)}`;
}

function workingDirectory(request: MessagesRequest): string | undefined {
  return /Primary working directory: (.+)/.exec(JSON.stringify(request.messages ?? []).replaceAll('\\n', '\n'))?.[1];
}

interface Conversation {
  /** Outcomes of script steps, in order (ToolSearch calls left out). */
  results: ToolOutcome[];
  /** Whether the last tool call was a ToolSearch. */
  lastWasSearch: boolean;
  searches: number;
  /** Tool-use ids stay unique in a resumed conversation: '' for its first prompt, `p<n>_` for a later one. */
  idPrefix: string;
}

function readConversation(request: MessagesRequest): Conversation {
  const calls = new Map<string, string>();
  const messages = request.messages ?? [];
  const start = promptIndex(request);
  const conversation: Conversation = {
    results: [],
    lastWasSearch: false,
    searches: 0,
    idPrefix: start === 0 ? '' : `p${start}_`,
  };
  messages.slice(0, start).forEach((message) => {
    // Tool uses before the current prompt are known by name, their results belong to an earlier attempt.
    for (const block of blocksOf(message.content)) {
      if (message.role === 'assistant' && block.type === 'tool_use' && block.id) calls.set(block.id, block.name ?? '');
    }
  });
  for (const [offset, message] of messages.slice(start).entries()) {
    for (const block of blocksOf(message.content)) {
      // Results in the prompt's own message answer an earlier attempt's last call (e.g. an interrupted one).
      if (offset === 0 && block.type === 'tool_result') continue;
      if (message.role === 'assistant' && block.type === 'tool_use' && block.id) {
        calls.set(block.id, block.name ?? '');
      }
      if (message.role !== 'user' || block.type !== 'tool_result') continue;
      const name = calls.get(block.tool_use_id ?? '') ?? '';
      conversation.lastWasSearch = name === 'ToolSearch';
      if (name === 'ToolSearch') {
        conversation.searches += 1;
        continue;
      }
      const output = resultText(block.content);
      const isError = block.is_error === true;
      const outcome: ToolOutcome = { output, isError };
      if (name === 'Bash') {
        const code = /Exit code (\d+)/.exec(output)?.[1];
        outcome.exitCode = isError ? (code === undefined ? -1 : Number(code)) : 0;
      }
      conversation.results.push(outcome);
    }
  }
  return conversation;
}

function messagesUsage(usage: TokenUsage): MessagesUsage {
  return {
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    cache_read_input_tokens: usage.cache_read_tokens,
    cache_creation_input_tokens: usage.cache_creation_tokens,
  };
}

const NO_USAGE: MessagesUsage = {
  input_tokens: 0,
  output_tokens: 0,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
};

/** The thinking, preface and usage of a step's own answer. */
function extrasOf(step: ResolvedStep): Pick<ScriptedReply, 'thinking' | 'usage'> & { preface?: string } {
  return {
    ...(step.thinking ? { thinking: step.thinking } : {}),
    ...(step.preface ? { preface: step.preface } : {}),
    ...(step.usage ? { usage: messagesUsage(step.usage) } : {}),
  };
}

/** The Messages stand-in's script that plays `agents` (the `step` it is given is ignored: see readConversation). */
export function scriptedClaude(agents: ScriptedAgents, now: () => number = Date.now): MessagesScript {
  return (request: MessagesRequest): ScriptedReply | StallReply => {
    const at = now();
    const session = claudeSessionId(request);
    const conversation = readConversation(request);
    const turn = {
      provider: 'claude' as const,
      session,
      prompt: claudePrompt(request),
      results: conversation.results,
    };
    const step = agents.next(turn);
    const reply = <R extends ScriptedReply | StallReply>(answered: TurnKind, value: R): R => {
      agents.answered('claude', session, answered, at);
      return value;
    };
    const extras = extrasOf(step);
    const toolUse = (name: string, input: Record<string, unknown>): ScriptedReply => ({
      kind: 'tool_use',
      id: `toolu_${conversation.idPrefix}s${step.index}`,
      name,
      input,
      ...extras,
    });
    const cwd = workingDirectory(request) ?? '/';
    switch (step.kind) {
      case 'say': {
        const { preface, ...rest } = extras;
        return reply('say', { kind: 'text', text: preface ? `${preface}\n\n${step.text}` : step.text, ...rest });
      }
      case 'bash':
        return reply('bash', toolUse('Bash', { command: step.command, description: 'Scripted step' }));
      case 'read':
        return reply('read', toolUse('Read', { file_path: path.resolve(cwd, step.path) }));
      case 'write':
        return reply('write', toolUse('Write', { file_path: path.resolve(cwd, step.path), content: step.content }));
      case 'stall':
        return reply('stall', { kind: 'stall' as const });
      case 'mcp': {
        const name = `${MCP_PREFIX}${step.tool}`;
        const loaded = (request.tools ?? []).some((tool) => tool.name === name);
        if (loaded) return reply('mcp', toolUse(name, step.input));
        if (conversation.lastWasSearch) {
          agents.fail(turn, step.index, `ToolSearch did not load ${name}`);
          return reply('say', { kind: 'text', text: `I cannot find the ${name} tool.` });
        }
        // The search is a turn of its own; a step with recorded usage reports it on its own turn, so this one has none.
        return reply('tool_search', {
          kind: 'tool_use',
          id: `toolu_${conversation.idPrefix}search${conversation.searches}`,
          name: 'ToolSearch',
          input: { query: `select:${name}`, max_results: 5 },
          ...(step.usage ? { usage: NO_USAGE } : {}),
        });
      }
    }
  };
}
