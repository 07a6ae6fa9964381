/**
 * @module Pure translation of Claude Code's stream-json messages (the Agent SDK's `SDKMessage`) into `SessionEvent`s,
 * and rate-limit detection in the order PROTOCOLS.md gives. No I/O, no clock: `now` and the time zone are passed in.
 */
import type { SDKMessage, SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { resolveWallClockTime, monthFromName, to24Hour, isValidTimeZone, type WallClockTime } from './reset-time.js';
import {
  addUsage,
  truncateOutput,
  ZERO_USAGE,
  type MapContext,
  type SessionEvent,
  type TokenUsage,
} from './session-events.js';

/** What the mapper remembers between messages: which API responses were counted and the running token totals. */
export interface ClaudeMapState {
  readonly countedMessageIds: ReadonlySet<string>;
  readonly usage: TokenUsage;
  readonly costUsd: number | null;
  readonly rateLimitReported: boolean;
}

export function initialClaudeMapState(): ClaudeMapState {
  return { countedMessageIds: new Set(), usage: { ...ZERO_USAGE }, costUsd: null, rateLimitReported: false };
}

/** Parses one stream-json line; null for blank or non-JSON lines. The shape is the CLI's, trusted as documented. */
export function parseClaudeLine(line: string): SDKMessage | null {
  const trimmed = line.trim();
  if (!trimmed) return null;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (typeof value !== 'object' || value === null || !('type' in value)) return null;
    return value as SDKMessage;
  } catch {
    return null;
  }
}

/**
 * Maps one message to the events it means, threading `state` (pure: returns a new state, never mutates).
 *
 * @example
 * let state = initialClaudeMapState();
 * for (const message of messages) {
 *   const mapped = mapClaudeMessage(message, state, { now: Date.now(), timeZone: 'UTC' });
 *   state = mapped.state;
 *   mapped.events.forEach(sink);
 * }
 */
export function mapClaudeMessage(
  message: SDKMessage,
  state: ClaudeMapState,
  context: MapContext,
): { events: SessionEvent[]; state: ClaudeMapState } {
  switch (message.type) {
    case 'system':
      return { events: mapSystem(message), state };
    case 'assistant':
      return mapAssistant(message, state, context);
    case 'user':
      return { events: mapUser(message), state };
    case 'rate_limit_event':
      return mapRateLimitEvent(message, state);
    case 'result':
      return mapResult(message, state, context);
    default:
      return { events: [], state };
  }
}

function mapSystem(message: Extract<SDKMessage, { type: 'system' }>): SessionEvent[] {
  if (message.subtype === 'init') {
    return [{ type: 'session_started', provider_session_id: message.session_id, model: message.model || null }];
  }
  if (message.subtype === 'api_retry') {
    const status = message.error_status === null ? '' : ` ${message.error_status}`;
    return [
      {
        type: 'error',
        fatal: false,
        message: `API error${status} (${message.error}); retry ${message.attempt}/${message.max_retries} in ${Math.round(message.retry_delay_ms)} ms`,
      },
    ];
  }
  return [];
}

type AssistantMessage = Extract<SDKMessage, { type: 'assistant' }>;

function assistantText(message: AssistantMessage): string {
  const content: readonly { type: string; text?: unknown }[] = message.message.content ?? [];
  return content
    .filter((block) => block.type === 'text' && typeof block.text === 'string')
    .map((block) => block.text as string)
    .join('\n');
}

function mapAssistant(
  message: AssistantMessage,
  state: ClaudeMapState,
  context: MapContext,
): { events: SessionEvent[]; state: ClaudeMapState } {
  const events: SessionEvent[] = [];
  let next = state;

  if (message.error) {
    // A synthetic message the CLI made up to report an error: its text is the error, not the agent speaking.
    const text = assistantText(message) || message.error;
    if (message.error === 'rate_limit') {
      if (!state.rateLimitReported) {
        events.push({
          type: 'rate_limit',
          provider: 'claude',
          kind: 'rejected',
          resets_at: parseClaudeResetTime(text, context.now, context.timeZone),
          message: text,
        });
        next = { ...next, rateLimitReported: true };
      }
    } else {
      events.push({ type: 'error', fatal: true, message: `${text} (${message.error})` });
    }
    return { events, state: next };
  }

  for (const block of message.message.content ?? []) {
    switch (block.type) {
      case 'text':
        if (block.text) events.push({ type: 'text', text: block.text });
        break;
      case 'thinking':
        if (block.thinking) events.push({ type: 'thinking', text: block.thinking });
        break;
      case 'tool_use':
      case 'server_tool_use':
      case 'mcp_tool_use':
        events.push({ type: 'tool_call', id: block.id, name: block.name, input: block.input });
        break;
      default:
        break;
    }
  }

  // One API response arrives as several assistant messages (one per content block) sharing message.id and usage.
  const id = message.message.id;
  const usage = message.message.usage;
  if (id && usage && !state.countedMessageIds.has(id)) {
    const counted = new Set(state.countedMessageIds);
    counted.add(id);
    const total = addUsage(state.usage, {
      input_tokens: usage.input_tokens ?? 0,
      output_tokens: usage.output_tokens ?? 0,
      cache_read_tokens: usage.cache_read_input_tokens ?? 0,
      cache_creation_tokens: usage.cache_creation_input_tokens ?? 0,
    });
    next = { ...next, countedMessageIds: counted, usage: total };
    events.push(usageEvent(total, next.costUsd));
  }
  return { events, state: next };
}

function usageEvent(usage: TokenUsage, costUsd: number | null): SessionEvent {
  return costUsd === null ? { type: 'usage', ...usage } : { type: 'usage', ...usage, cost_usd: costUsd };
}

type UserMessage = Extract<SDKMessage, { type: 'user' }>;

function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) => {
      if (typeof part !== 'object' || part === null) return '';
      const block = part as { type?: unknown; text?: unknown };
      if (block.type === 'text' && typeof block.text === 'string') return block.text;
      return `[${String(block.type)}]`;
    })
    .join('\n');
}

/** Write/Edit/MultiEdit report `{ filePath, structuredPatch, type? }`; NotebookEdit reports `{ notebook_path }`. */
function fileChangeFromToolResult(result: unknown): SessionEvent | null {
  if (typeof result !== 'object' || result === null) return null;
  const fields = result as Record<string, unknown>;
  if (typeof fields.filePath === 'string' && Array.isArray(fields.structuredPatch)) {
    return { type: 'file_change', path: fields.filePath, kind: fields.type === 'create' ? 'add' : 'update' };
  }
  if (typeof fields.notebook_path === 'string' && typeof fields.edit_mode === 'string' && !fields.error) {
    return { type: 'file_change', path: fields.notebook_path, kind: 'update' };
  }
  return null;
}

function mapUser(message: UserMessage): SessionEvent[] {
  const content = message.message.content;
  if (typeof content === 'string') return [];
  const events: SessionEvent[] = [];
  for (const block of content) {
    if (block.type === 'tool_result') {
      events.push({
        type: 'tool_result',
        id: block.tool_use_id,
        output: truncateOutput(toolResultText(block.content)),
        is_error: block.is_error === true,
      });
    }
  }
  const change = fileChangeFromToolResult(message.tool_use_result);
  if (change) events.push(change);
  return events;
}

function mapRateLimitEvent(
  message: Extract<SDKMessage, { type: 'rate_limit_event' }>,
  state: ClaudeMapState,
): { events: SessionEvent[]; state: ClaudeMapState } {
  const info = message.rate_limit_info;
  const resetsAt = typeof info.resetsAt === 'number' ? info.resetsAt * 1000 : null;
  const limit = info.rateLimitType ? `${info.rateLimitType.replace(/_/g, ' ')} limit` : 'usage limit';
  if (info.status === 'rejected') {
    return {
      events: [
        {
          type: 'rate_limit',
          provider: 'claude',
          kind: 'rejected',
          resets_at: resetsAt,
          message: `Claude ${limit} reached`,
        },
      ],
      state: { ...state, rateLimitReported: true },
    };
  }
  if (info.status === 'allowed_warning') {
    const used = typeof info.utilization === 'number' ? ` (${Math.round(info.utilization * 100)}% used)` : '';
    return {
      events: [
        {
          type: 'rate_limit',
          provider: 'claude',
          kind: 'warning',
          resets_at: resetsAt,
          message: `Claude ${limit} nearly reached${used}`,
        },
      ],
      state,
    };
  }
  return { events: [], state };
}

/** Session totals from a result: `modelUsage` covers subagents and side calls too, so it wins when present. */
export function claudeResultUsage(result: SDKResultMessage): TokenUsage {
  const perModel = Object.values(result.modelUsage ?? {});
  if (perModel.length > 0) {
    return perModel.reduce<TokenUsage>(
      (total, model) =>
        addUsage(total, {
          input_tokens: model.inputTokens ?? 0,
          output_tokens: model.outputTokens ?? 0,
          cache_read_tokens: model.cacheReadInputTokens ?? 0,
          cache_creation_tokens: model.cacheCreationInputTokens ?? 0,
        }),
      { ...ZERO_USAGE },
    );
  }
  const usage = result.usage;
  return {
    input_tokens: usage?.input_tokens ?? 0,
    output_tokens: usage?.output_tokens ?? 0,
    cache_read_tokens: usage?.cache_read_input_tokens ?? 0,
    cache_creation_tokens: usage?.cache_creation_input_tokens ?? 0,
  };
}

/** The result's text: the answer on success, the error text (or `errors[]`) otherwise. */
export function claudeResultText(result: SDKResultMessage): string {
  if (result.subtype === 'success') return result.result ?? '';
  return '';
}

/** One sentence saying why an error result failed. */
export function claudeResultError(result: SDKResultMessage): string {
  if (result.subtype === 'success') return result.result || 'Claude Code reported an error without a message';
  const detail = (result.errors ?? []).join('; ');
  switch (result.subtype) {
    case 'error_max_turns':
      return detail || 'Claude Code stopped at the maximum number of turns';
    case 'error_max_budget_usd':
      return detail || 'Claude Code stopped at its USD budget';
    default:
      return detail || `Claude Code ended with ${result.subtype}`;
  }
}

function mapResult(
  result: SDKResultMessage,
  state: ClaudeMapState,
  context: MapContext,
): { events: SessionEvent[]; state: ClaudeMapState } {
  const usage = claudeResultUsage(result);
  const costUsd = typeof result.total_cost_usd === 'number' ? result.total_cost_usd : state.costUsd;
  const events: SessionEvent[] = [usageEvent(usage, costUsd)];
  let next: ClaudeMapState = { ...state, usage, costUsd };
  if (result.is_error) {
    const limit = detectClaudeRateLimit([result], context.now, context.timeZone);
    if (limit) {
      if (!state.rateLimitReported) {
        events.push({
          type: 'rate_limit',
          provider: 'claude',
          kind: 'rejected',
          resets_at: limit.resetsAt,
          message: limit.message,
        });
        next = { ...next, rateLimitReported: true };
      }
    } else {
      events.push({ type: 'error', fatal: true, message: claudeResultError(result) });
    }
  }
  const resultEvent: SessionEvent = {
    type: 'result',
    is_error: result.is_error,
    text: result.is_error ? claudeResultError(result) : claudeResultText(result),
    num_turns: result.num_turns,
    duration_ms: result.duration_ms,
  };
  if (costUsd !== null) resultEvent.cost_usd = costUsd;
  events.push(resultEvent);
  return { events, state: next };
}

export interface ClaudeRateLimit {
  /** When the limit resets (ms since the epoch), or null when Claude did not say. */
  resetsAt: number | null;
  message: string;
  /** Which signal decided: the structured event, the API status, or the text of the error. */
  source: 'rate_limit_event' | 'api_error' | 'text';
}

const LIMIT_TEXT_PATTERNS: readonly RegExp[] = [
  /\bhit your (?:[\w-]+ )?limit\b/i, // "You've hit your session limit · resets 1:39am (UTC)", "... weekly limit ..."
  /\busage limit reached\b/i, // "Claude AI usage limit reached|1795484393"
  /\blimit reached\s*[∙·•|-]\s*resets\b/i, // "5-hour limit reached ∙ resets 3pm"
  /\blimits? will reset\b/i,
  /\brate limit\b/i,
  /\(429\)/,
];

/** Epoch-style reset of the older message "Claude AI usage limit reached|<epoch seconds>". */
const EPOCH_RESET = /usage limit reached\|(\d{9,13})/i;

const CLOCK_RESET =
  /\breset(?:s)?(?:\s+at)?\s+(?:(?<month>[A-Za-z]{3,9})\.?\s+(?<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?:(?<year>\d{4}),?\s+)?(?:at\s+)?)?(?<hour>\d{1,2})(?::(?<minute>\d{2}))?\s*(?<meridiem>[ap]\.?\s?m\.?)(?:\s*\((?<zone>[^)]+)\))?/i;

/** True when an error text reads like a usage/rate limit (not an auth, billing or server error). */
export function isClaudeLimitText(text: string): boolean {
  return LIMIT_TEXT_PATTERNS.some((pattern) => pattern.test(text));
}

/**
 * The reset time a Claude limit message names, or null: "resets 1:39am (UTC)", "resets Jul 31, 2am (UTC)",
 * "resets Sep 15 at 7pm", "resets 3pm" (in `timeZone`), "usage limit reached|<epoch>".
 */
export function parseClaudeResetTime(text: string, now: number, timeZone: string): number | null {
  const epoch = EPOCH_RESET.exec(text);
  if (epoch?.[1]) {
    const value = Number(epoch[1]);
    return value < 1e12 ? value * 1000 : value;
  }
  const match = CLOCK_RESET.exec(text);
  const groups = match?.groups;
  if (!groups?.hour || !groups.meridiem) return null;
  const hour = Number(groups.hour);
  const minute = groups.minute ? Number(groups.minute) : 0;
  if (hour < 1 || hour > 12 || minute > 59) return null;
  const time: WallClockTime = { hour: to24Hour(hour, groups.meridiem), minute };
  const month = groups.month ? monthFromName(groups.month) : undefined;
  if (month !== undefined && groups.day) {
    time.month = month;
    time.day = Number(groups.day);
    if (groups.year) time.year = Number(groups.year);
  }
  const zone = groups.zone && isValidTimeZone(groups.zone.trim()) ? groups.zone.trim() : timeZone;
  return resolveWallClockTime(time, now, zone);
}

/**
 * Whether a Claude session was stopped by a rate or usage limit, judged over its messages in PROTOCOLS.md's order:
 * 1. a `rate_limit_event` with status `rejected` (its `resetsAt`);
 * 2. an assistant message with `error: 'rate_limit'`, or a result with `api_error_status` 429;
 * 3. the text of an error result ("You've hit your session limit · resets 1:39am (UTC)", ...).
 * A session whose result succeeded is not limited, whatever warnings came before. Authentication, billing and other
 * errors are not limits. Reset times printed as wall-clock times are read relative to `now` in `timeZone`.
 *
 * @example
 * detectClaudeRateLimit(messages, Date.now(), 'UTC') // { resetsAt: 1795484393000, message: '...', source: 'rate_limit_event' }
 */
export function detectClaudeRateLimit(
  messages: Iterable<SDKMessage>,
  now: number,
  timeZone: string,
): ClaudeRateLimit | null {
  let result: SDKResultMessage | undefined;
  let rejected: Extract<SDKMessage, { type: 'rate_limit_event' }> | undefined;
  let assistantLimit: AssistantMessage | undefined;
  for (const message of messages) {
    if (message.type === 'result') result = message;
    else if (message.type === 'rate_limit_event' && message.rate_limit_info.status === 'rejected') rejected = message;
    else if (message.type === 'assistant' && message.error === 'rate_limit') assistantLimit = message;
  }
  if (result && !result.is_error) return null;

  const resultText = result && result.subtype === 'success' ? (result.result ?? '') : '';
  const errorText = resultText || (assistantLimit ? assistantText(assistantLimit) : '');

  if (rejected) {
    const resetsAtSeconds = rejected.rate_limit_info.resetsAt;
    const type = rejected.rate_limit_info.rateLimitType?.replace(/_/g, ' ') ?? 'usage';
    return {
      resetsAt:
        typeof resetsAtSeconds === 'number' ? resetsAtSeconds * 1000 : parseClaudeResetTime(errorText, now, timeZone),
      message: errorText || `Claude ${type} limit reached`,
      source: 'rate_limit_event',
    };
  }
  if (assistantLimit || (result && result.subtype === 'success' && result.api_error_status === 429)) {
    return {
      resetsAt: parseClaudeResetTime(errorText, now, timeZone),
      message: errorText || 'Claude API rate limit (429)',
      source: 'api_error',
    };
  }
  if (result && resultText && isClaudeLimitText(resultText)) {
    return { resetsAt: parseClaudeResetTime(resultText, now, timeZone), message: resultText, source: 'text' };
  }
  return null;
}
