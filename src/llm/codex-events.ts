/**
 * @module Pure translation of Codex `exec --json` events (the Codex SDK's `ThreadEvent`) into `SessionEvent`s, and
 * rate-limit detection from Codex's error texts (its only limit signal). No I/O, no clock: `now` is passed in.
 */
import type { ThreadEvent, ThreadItem, Usage } from '@openai/codex-sdk';
import { isValidTimeZone, monthFromName, resolveWallClockTime, to24Hour, type WallClockTime } from './reset-time.js';
import { truncateOutput, type MapContext, type SessionEvent, type TokenUsage } from './session-events.js';

/** What the mapper remembers between events. */
export interface CodexMapState {
  readonly threadId: string | null;
  /** The last agent message: Codex's final answer once the turn completes. */
  readonly lastAgentMessage: string;
  readonly usage: TokenUsage | null;
  /** How the turn ended, once it has. */
  readonly turn: 'running' | 'completed' | 'failed';
  readonly failureMessage: string | null;
  /** Messages of the non-fatal `error` events, newest last (a crash after them may still be a rate limit). */
  readonly errorMessages: readonly string[];
}

export function initialCodexMapState(): CodexMapState {
  return {
    threadId: null,
    lastAgentMessage: '',
    usage: null,
    turn: 'running',
    failureMessage: null,
    errorMessages: [],
  };
}

/** Parses one `codex exec --json` line; null for blank or non-JSON lines. */
export function parseCodexLine(line: string): ThreadEvent | null {
  const trimmed = line.trim();
  if (!trimmed) return null;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (typeof value !== 'object' || value === null || !('type' in value)) return null;
    return value as ThreadEvent;
  } catch {
    return null;
  }
}

/**
 * Codex usage in the shared meaning: Codex's `input_tokens` includes cached and cache-written tokens, and its
 * `output_tokens` already includes reasoning tokens.
 */
export function codexUsage(usage: Usage): TokenUsage {
  const cached = usage.cached_input_tokens ?? 0;
  const written = usage.cache_write_input_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage.input_tokens ?? 0) - cached - written),
    output_tokens: usage.output_tokens ?? 0,
    cache_read_tokens: cached,
    cache_creation_tokens: written,
  };
}

/**
 * Maps one event to the events it means, threading `state` (pure: returns a new state).
 *
 * @example
 * const { events, state } = mapCodexEvent({ type: 'thread.started', thread_id: 't1' }, initialCodexMapState(), ctx);
 * // events: [{ type: 'session_started', provider_session_id: 't1', model: null }]
 */
export function mapCodexEvent(
  event: ThreadEvent,
  state: CodexMapState,
  context: MapContext,
): { events: SessionEvent[]; state: CodexMapState } {
  switch (event.type) {
    case 'thread.started':
      return {
        events: [{ type: 'session_started', provider_session_id: event.thread_id, model: null }],
        state: { ...state, threadId: event.thread_id },
      };
    case 'item.started':
      return { events: mapItemStarted(event.item), state };
    case 'item.completed':
      return {
        events: mapItemCompleted(event.item),
        state: event.item.type === 'agent_message' ? { ...state, lastAgentMessage: event.item.text } : state,
      };
    case 'turn.completed': {
      const usage = codexUsage(event.usage);
      return {
        events: [
          { type: 'usage', ...usage },
          { type: 'result', is_error: false, text: state.lastAgentMessage },
        ],
        state: { ...state, usage, turn: 'completed' },
      };
    }
    case 'turn.failed': {
      const message = event.error?.message || 'Codex turn failed without a message';
      const limit = detectCodexRateLimit(message, context.now, context.timeZone);
      const events: SessionEvent[] = limit
        ? [{ type: 'rate_limit', provider: 'codex', kind: 'rejected', resets_at: limit.resetsAt, message }]
        : [{ type: 'error', fatal: true, message }];
      events.push({ type: 'result', is_error: true, text: message });
      return { events, state: { ...state, turn: 'failed', failureMessage: message } };
    }
    case 'error':
      return {
        events: [{ type: 'error', fatal: false, message: event.message }],
        state: { ...state, errorMessages: [...state.errorMessages, event.message] },
      };
    default:
      // turn.started, item.updated and event types newer than this code: nothing to record.
      return { events: [], state };
  }
}

function mcpToolName(item: Extract<ThreadItem, { type: 'mcp_tool_call' }>): string {
  return `mcp__${item.server}__${item.tool}`;
}

function mapItemStarted(item: ThreadItem): SessionEvent[] {
  if (item.type === 'mcp_tool_call') {
    return [{ type: 'tool_call', id: item.id, name: mcpToolName(item), input: item.arguments }];
  }
  return [];
}

function mcpResultText(item: Extract<ThreadItem, { type: 'mcp_tool_call' }>): string {
  if (item.error) return item.error.message;
  const content: readonly { type: string; text?: unknown }[] = item.result?.content ?? [];
  return content
    .map((block) => (block.type === 'text' && typeof block.text === 'string' ? block.text : `[${block.type}]`))
    .join('\n');
}

function mapItemCompleted(item: ThreadItem): SessionEvent[] {
  switch (item.type) {
    case 'agent_message':
      return item.text ? [{ type: 'text', text: item.text }] : [];
    case 'reasoning':
      return item.text ? [{ type: 'thinking', text: item.text }] : [];
    case 'command_execution':
      return [
        {
          type: 'command',
          command: item.command,
          exit_code: typeof item.exit_code === 'number' ? item.exit_code : null,
          output: truncateOutput(item.aggregated_output ?? ''),
        },
      ];
    case 'file_change':
      if (item.status !== 'completed') {
        return [
          { type: 'error', fatal: false, message: `patch failed: ${item.changes.map((c) => c.path).join(', ')}` },
        ];
      }
      return item.changes.map((change) => ({ type: 'file_change', path: change.path, kind: change.kind }));
    case 'mcp_tool_call':
      return [
        {
          type: 'tool_result',
          id: item.id,
          output: truncateOutput(mcpResultText(item)),
          is_error: item.status === 'failed' || item.error !== undefined,
        },
      ];
    case 'web_search':
      return [{ type: 'tool_call', id: item.id, name: 'web_search', input: { query: item.query } }];
    case 'error':
      return [{ type: 'error', fatal: false, message: item.message }];
    default:
      // todo_list and item types newer than this code.
      return [];
  }
}

export interface CodexRateLimit {
  /** When the limit resets (ms since the epoch), or null when Codex did not say. */
  resetsAt: number | null;
  message: string;
}

const CODEX_LIMIT_PATTERNS: readonly RegExp[] = [
  /\bhit your usage limit\b/i, // "You've hit your usage limit. ... try again at 1:37 AM."
  /\busage_limit_reached\b/i,
  /\blast status: 429\b/i, // "exceeded retry limit, last status: 429 Too Many Requests"
  /\b429 Too Many Requests\b/i,
  /\brate limit reached\b/i, // OpenAI API: "Rate limit reached for gpt-... Please try again in 20s."
  /\brate_limit_exceeded\b/i,
];

const TRY_AGAIN_AT =
  /try again at\s+(?:(?<month>[A-Za-z]{3,9})\.?\s+(?<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?:(?<year>\d{4}),?\s+)?)?(?<hour>\d{1,2}):(?<minute>\d{2})\s*(?<meridiem>[ap]\.?\s?m\.?)/i;
const TRY_AGAIN_IN = /try again in\s+(?<amount>\d+(?:\.\d+)?)\s*(?<unit>ms|s|sec|seconds?|m|min|minutes?|h|hours?)\b/i;

/**
 * Whether a Codex error text means a rate or usage limit, and when it resets. Codex prints local times: "try again at
 * 1:37 AM" (today) or "try again at Dec 29th, 2025 10:15 PM", read in `timeZone` relative to `now`; "try again later"
 * and "exceeded retry limit, last status: 429 Too Many Requests" give no reset time. Quota exhaustion
 * (`insufficient_quota`) is a billing failure, not a limit.
 *
 * @example
 * detectCodexRateLimit("You've hit your usage limit. Try again later.", now, 'UTC') // { resetsAt: null, message }
 */
export function detectCodexRateLimit(message: string, now: number, timeZone: string): CodexRateLimit | null {
  if (!CODEX_LIMIT_PATTERNS.some((pattern) => pattern.test(message))) return null;
  return { resetsAt: parseCodexResetTime(message, now, timeZone), message };
}

/** The reset instant a Codex limit message names, or null. */
export function parseCodexResetTime(message: string, now: number, timeZone: string): number | null {
  const zone = isValidTimeZone(timeZone) ? timeZone : 'UTC';
  const at = TRY_AGAIN_AT.exec(message)?.groups;
  if (at?.hour && at.minute && at.meridiem) {
    const hour = Number(at.hour);
    const minute = Number(at.minute);
    if (hour < 1 || hour > 12 || minute > 59) return null;
    const time: WallClockTime = { hour: to24Hour(hour, at.meridiem), minute };
    const month = at.month ? monthFromName(at.month) : undefined;
    if (month !== undefined && at.day) {
      time.month = month;
      time.day = Number(at.day);
      if (at.year) time.year = Number(at.year);
    }
    return resolveWallClockTime(time, now, zone);
  }
  const within = TRY_AGAIN_IN.exec(message)?.groups;
  if (within?.amount && within.unit) {
    const amount = Number(within.amount);
    const unit = within.unit.toLowerCase();
    const factor = unit === 'ms' ? 1 : unit.startsWith('h') ? 3_600_000 : unit.startsWith('m') ? 60_000 : 1000;
    return now + Math.ceil(amount * factor);
  }
  return null;
}
