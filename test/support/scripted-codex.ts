/**
 * @module Plays scripted agents (scripted-agent.ts) as the model behind the REAL Codex CLI, through the Responses API
 * stand-in (mock-responses-server.ts). Follows what Codex 0.169 really does (seen by logging its requests):
 * - `tools` of every request: `exec_command` (function, `{cmd, ...}`), `apply_patch` (custom, freeform patch),
 *   `tool_search` (type `tool_search`, `execution: "client"`), ... and no MCP tool: the developer message only names
 *   the deferred namespace ("Deferred tool namespaces: - mcp__autodev: ...").
 * - A `tool_search_call` output item (`{call_id, execution: "client", arguments: {query, limit}}`) is answered in the
 *   next request's `input` by a `tool_search_output` whose `tools` hold `{type: "namespace", name: "mcp__autodev",
 *   tools: [{type: "function", name: "read_task", ...}, ...]}`.
 * - An MCP call is a `function_call` with `namespace: "mcp__autodev"` and `name: "read_task"` (a flat
 *   `mcp__autodev__read_task` is refused: "unsupported call"); its `function_call_output.output` is a list of
 *   `input_text` parts ("Wall time: ...", then the tool's text) and does NOT say whether the tool reported an error, so
 *   check MCP steps with `outputIncludes`.
 * - Shell: `function_call` `exec_command` `{"cmd": ...}`, output "... Process exited with code N ... Output:\n...";
 *   apply_patch: `custom_tool_call` answered by `custom_tool_call_output` "Exit code: N ...".
 * The issue text says Codex offers MCP tools "through its exec tool": with the default configuration 0.169 does not;
 * it defers them behind `tool_search` as above.
 */
import path from 'node:path';
import {
  applyPatchAddFile,
  assistantMessage,
  shellCall,
  type ResponsesRequest,
  type ResponsesScript,
} from './mock-responses-server.js';
import { contentLines, type ScriptedAgents, type ToolOutcome, type TurnKind } from '../../src/demo/scripted-agent.js';

/** The namespace Codex gives the tools of Auto-Dev's MCP server `autodev`. */
const MCP_NAMESPACE = 'mcp__autodev';

function itemText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) return '';
  return (value as { type?: string; text?: string }[])
    .filter((part) => part.type === 'input_text' || part.type === 'output_text')
    .map((part) => part.text ?? '')
    .join('\n');
}

/** The task prompt: the user message(s) Codex forwards, without its `<environment_context>` and AGENTS.md ones. */
export function codexPrompt(request: ResponsesRequest): string {
  return (request.input ?? [])
    .filter((item) => item.type === 'message' && item.role === 'user')
    .map((item) => itemText(item.content))
    .filter((text) => !text.startsWith('<environment_context>') && !text.startsWith('# AGENTS.md instructions'))
    .join('\n');
}

/** Codex's thread id: sent as `prompt_cache_key` on every request of a thread. */
export function codexSessionId(request: ResponsesRequest): string {
  const key = request.prompt_cache_key;
  return typeof key === 'string' && key ? key : `prompt:${codexPrompt(request).slice(0, 200)}`;
}

function workingDirectory(request: ResponsesRequest): string | undefined {
  for (const item of request.input ?? []) {
    const cwd = /<cwd>(.*?)<\/cwd>/.exec(itemText(item.content))?.[1];
    if (cwd) return cwd;
  }
  return undefined;
}

interface Conversation {
  results: ToolOutcome[];
  /** Tools found by tool searches so far (`namespace.name`). */
  loaded: Set<string>;
  lastWasSearch: boolean;
  searches: number;
}

function readConversation(request: ResponsesRequest): Conversation {
  const calls = new Map<string, string>();
  const conversation: Conversation = { results: [], loaded: new Set(), lastWasSearch: false, searches: 0 };
  for (const item of request.input ?? []) {
    const callId = String(item.call_id ?? '');
    if (item.type === 'function_call' || item.type === 'custom_tool_call') {
      calls.set(callId, item.namespace ? `${String(item.namespace)}.${String(item.name)}` : String(item.name));
    } else if (item.type === 'tool_search_output') {
      conversation.lastWasSearch = true;
      conversation.searches += 1;
      for (const tool of (item.tools ?? []) as { type?: string; name?: string; tools?: { name?: string }[] }[]) {
        if (tool.type === 'namespace')
          for (const inner of tool.tools ?? []) conversation.loaded.add(`${tool.name}.${inner.name}`);
        else conversation.loaded.add(String(tool.name));
      }
    } else if (item.type === 'function_call_output' || item.type === 'custom_tool_call_output') {
      conversation.lastWasSearch = false;
      const name = calls.get(callId) ?? '';
      const output = itemText(item.output);
      const code = /Process exited with code (-?\d+)|^Exit code: (-?\d+)/m.exec(output);
      const outcome: ToolOutcome = { output, isError: false };
      if (code) {
        outcome.exitCode = Number(code[1] ?? code[2]);
        outcome.isError = outcome.exitCode !== 0;
      } else if (!name.startsWith(`${MCP_NAMESPACE}.`)) {
        // A refused call ("unsupported call: ...") or a tool that failed before running.
        outcome.isError = !/Output:/.test(output);
      }
      conversation.results.push(outcome);
    }
  }
  return conversation;
}

/** The Responses stand-in's script that plays `agents` (the `step` it is given is ignored: see readConversation). */
export function scriptedCodex(agents: ScriptedAgents, now: () => number = Date.now): ResponsesScript {
  return (request: ResponsesRequest): Record<string, unknown> | 'stall' => {
    const at = now();
    const session = codexSessionId(request);
    const conversation = readConversation(request);
    const turn = { provider: 'codex' as const, session, prompt: codexPrompt(request), results: conversation.results };
    const step = agents.next(turn);
    const reply = <T extends Record<string, unknown> | 'stall'>(answered: TurnKind, item: T): T => {
      agents.answered('codex', session, answered, at);
      return item;
    };
    const callId = `call_s${step.index}`;
    switch (step.kind) {
      case 'say':
        return reply('say', assistantMessage(step.text));
      case 'bash':
        return reply('bash', shellCall(request, callId, step.command));
      case 'read':
        // Codex has no file-reading tool of its own: it reads through the shell.
        return reply('read', shellCall(request, callId, `cat -n ${JSON.stringify(step.path)}`));
      case 'stall':
        return reply('stall', 'stall');
      case 'write': {
        const file = path.isAbsolute(step.path)
          ? path.relative(workingDirectory(request) ?? '/', step.path)
          : step.path;
        return reply('write', applyPatchAddFile(callId, file, contentLines(step.content)));
      }
      case 'mcp': {
        if (conversation.loaded.has(`${MCP_NAMESPACE}.${step.tool}`)) {
          return reply('mcp', {
            type: 'function_call',
            id: `fc_${callId}`,
            call_id: callId,
            namespace: MCP_NAMESPACE,
            name: step.tool,
            arguments: JSON.stringify(step.input),
            status: 'completed',
          });
        }
        if (conversation.lastWasSearch) {
          agents.fail(turn, step.index, `tool_search did not find ${MCP_NAMESPACE}.${step.tool}`);
          return reply('say', assistantMessage(`I cannot find the ${step.tool} tool.`));
        }
        return reply('tool_search', {
          type: 'tool_search_call',
          id: `ts_${conversation.searches}`,
          call_id: `call_search${conversation.searches}`,
          execution: 'client',
          status: 'completed',
          arguments: { query: `autodev ${step.tool}`, limit: 8 },
        });
      }
    }
  };
}
