/**
 * @module The one event vocabulary of an LLM session, whatever the provider: what the agent said, thought, ran and
 * changed, what it cost, and how the session ended (`SessionOutcome`). Providers translate into it; the store and the
 * dashboard read only it. A zod schema validates events read back from files (recorded sessions, transcripts).
 */
import { z } from 'zod';

export const PROVIDER_NAMES = ['claude', 'codex', 'replay'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/**
 * Token counts with one meaning for every provider:
 * - `input_tokens`: input tokens processed fresh (not read from the prompt cache, not written to it);
 * - `cache_creation_tokens`: input tokens written to the prompt cache;
 * - `cache_read_tokens`: input tokens served from the prompt cache;
 * - `output_tokens`: generated tokens, reasoning included.
 * Claude reports these directly; Codex's `input_tokens` includes its cached tokens, so they are subtracted.
 */
export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_creation_tokens: number;
}

export const ZERO_USAGE: Readonly<TokenUsage> = Object.freeze({
  input_tokens: 0,
  output_tokens: 0,
  cache_read_tokens: 0,
  cache_creation_tokens: 0,
});

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    input_tokens: a.input_tokens + b.input_tokens,
    output_tokens: a.output_tokens + b.output_tokens,
    cache_read_tokens: a.cache_read_tokens + b.cache_read_tokens,
    cache_creation_tokens: a.cache_creation_tokens + b.cache_creation_tokens,
  };
}

/**
 * The tokens a session's token budget (`tokens.session_max`) counts: fresh input (including cache writes) plus
 * output. Cache reads are left out: every model call re-reads the whole conversation from the cache, so counting them
 * would measure conversation length squared rather than work done.
 */
export function budgetTokens(usage: TokenUsage): number {
  return usage.input_tokens + usage.cache_creation_tokens + usage.output_tokens;
}

export type FileChangeKind = 'add' | 'update' | 'delete';

export type SessionEvent =
  /** The CLI said which session this is (Claude `system/init`, Codex `thread.started`). */
  | { type: 'session_started'; provider_session_id: string; model: string | null }
  /** Text the agent wrote. */
  | { type: 'text'; text: string }
  /** The agent's reasoning, where the provider shows it. */
  | { type: 'thinking'; text: string }
  /** The agent called a tool (Claude tool_use, Codex MCP tool call or web search). */
  | { type: 'tool_call'; id: string; name: string; input: unknown }
  /** A tool answered. `id` matches the `tool_call`. */
  | { type: 'tool_result'; id: string; output: string; is_error: boolean }
  /** A file in the working directory was added, changed or deleted. `path` as the CLI reported it. */
  | { type: 'file_change'; path: string; kind: FileChangeKind }
  /** A shell command finished (Codex command_execution). Claude's Bash runs appear as tool_call + tool_result. */
  | { type: 'command'; command: string; exit_code: number | null; output: string }
  /**
   * Token totals for the session so far (each usage event supersedes the previous one; never add them up).
   * `cost_usd` is the provider's own estimate, where it gives one.
   */
  | ({ type: 'usage'; cost_usd?: number } & TokenUsage)
  /**
   * A rate or usage limit. `rejected`: the provider refused work until `resets_at` (ms since the epoch; null when it
   * did not say). `warning`: the limit is close, work continues.
   */
  | {
      type: 'rate_limit';
      provider: ProviderName;
      resets_at: number | null;
      kind: 'rejected' | 'warning';
      message: string;
    }
  /** Something went wrong. `fatal: false` for errors the CLI recovers from (retries, reconnects). */
  | { type: 'error'; message: string; fatal: boolean }
  /** The CLI's own final report of the turn. The session's verdict is the `SessionOutcome`, not this event. */
  | {
      type: 'result';
      is_error: boolean;
      text: string;
      num_turns?: number;
      duration_ms?: number;
      cost_usd?: number;
    };

export type SessionEventType = SessionEvent['type'];

export const SESSION_STATUSES = ['succeeded', 'failed', 'rate_limited', 'aborted'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** How one session ended. A `rate_limited` session is not a failure: the task waits or moves to the fallback. */
export interface SessionOutcome {
  status: SessionStatus;
  provider: ProviderName;
  /** Claude session id / Codex thread id: what `resumeSessionId` takes to continue. Null if the CLI never said. */
  providerSessionId: string | null;
  model: string | null;
  usage: TokenUsage;
  /** The provider's cost estimate in USD; null when the provider reports none (Codex). */
  costUsd: number | null;
  durationMs: number;
  /** The agent's final answer (Claude `result`, Codex last agent message); empty when there is none. */
  resultText: string;
  /** Why the session did not succeed, in one readable sentence. */
  error?: string;
  /** Only for `rate_limited`: when the limit resets (ms since the epoch), or null when the provider did not say. */
  rateLimitResetsAt?: number | null;
  numTurns?: number;
}

/** What the pure mappers need to know about the moment they run in. */
export interface MapContext {
  /** The current time (ms since the epoch), for reset times printed as wall-clock times. */
  now: number;
  /** The zone the CLI printed local times in, when the message names none. */
  timeZone: string;
}

/** Tool and command output longer than this is cut in the transcript (the agent itself saw all of it). */
export const MAX_OUTPUT_CHARS = 50_000;

export function truncateOutput(text: string): string {
  if (text.length <= MAX_OUTPUT_CHARS) return text;
  return `${text.slice(0, MAX_OUTPUT_CHARS)}\n… [${text.length - MAX_OUTPUT_CHARS} more characters not kept]`;
}

export const TOKEN_BUDGET_ERROR = 'token budget';
export const ABORTED_ERROR = 'aborted';

const count = z.number().int().nonnegative();
const tokenUsageShape = {
  input_tokens: count,
  output_tokens: count,
  cache_read_tokens: count,
  cache_creation_tokens: count,
};

export const tokenUsageSchema = z.object(tokenUsageShape);

export const sessionEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('session_started'), provider_session_id: z.string(), model: z.string().nullable() }),
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({ type: z.literal('thinking'), text: z.string() }),
  z.object({ type: z.literal('tool_call'), id: z.string(), name: z.string(), input: z.unknown() }),
  z.object({ type: z.literal('tool_result'), id: z.string(), output: z.string(), is_error: z.boolean() }),
  z.object({ type: z.literal('file_change'), path: z.string().min(1), kind: z.enum(['add', 'update', 'delete']) }),
  z.object({
    type: z.literal('command'),
    command: z.string(),
    exit_code: z.number().int().nullable(),
    output: z.string(),
  }),
  z.object({ type: z.literal('usage'), ...tokenUsageShape, cost_usd: z.number().nonnegative().optional() }),
  z.object({
    type: z.literal('rate_limit'),
    provider: z.enum(PROVIDER_NAMES),
    resets_at: z.number().nullable(),
    kind: z.enum(['rejected', 'warning']),
    message: z.string(),
  }),
  z.object({ type: z.literal('error'), message: z.string(), fatal: z.boolean() }),
  z.object({
    type: z.literal('result'),
    is_error: z.boolean(),
    text: z.string(),
    num_turns: count.optional(),
    duration_ms: z.number().nonnegative().optional(),
    cost_usd: z.number().nonnegative().optional(),
  }),
]);

// Compile-time check that the schema and the hand-written union describe the same events.
type SchemaEvent = z.infer<typeof sessionEventSchema>;
const _schemaMatchesType: [SchemaEvent] extends [SessionEvent]
  ? [SessionEvent] extends [SchemaEvent]
    ? true
    : false
  : false = true;
void _schemaMatchesType;
