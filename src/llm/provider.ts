/**
 * @module The contract every LLM provider keeps: run one prompt in one directory as one coding-agent CLI session,
 * stream `SessionEvent`s to a sink, resolve to a `SessionOutcome`. Choosing a provider, rate-limit bookkeeping and
 * storing transcripts belong to the caller.
 */
import type { ProviderName, SessionEvent, SessionOutcome } from './session-events.js';

/** A stdio MCP server the agent may use, passed through to the CLI. */
export interface StdioMcpServerSpec {
  command: string;
  args?: string[];
  env?: Record<string, string>;
}

export interface SessionRequest {
  prompt: string;
  /** The directory the agent works in (its worktree). */
  cwd: string;
  /** Overrides the provider's configured model. */
  model?: string;
  /** The CLI's whole environment, already scrubbed by the caller; providers add only their configured `env`. */
  env: Record<string, string>;
  /** Appended to the CLI's own system prompt (Claude) or given as developer instructions (Codex). */
  systemPromptAppend?: string;
  /** Claude only: stop after this many agent turns (Codex has no such limit). */
  maxTurns?: number;
  /** Aborting it kills the CLI; the outcome is then `aborted`. */
  signal: AbortSignal;
  /** Reviewer/security roles: the agent may read but not edit (no write tools, read-only CLI sandbox). */
  readOnly: boolean;
  /** Continue this provider session (Claude session id, Codex thread id) instead of starting a new one. */
  resumeSessionId?: string;
  mcpServers?: Record<string, StdioMcpServerSpec>;
  /**
   * Abort the session once its tokens (fresh input + cache writes + output, see `budgetTokens`) pass this; the
   * outcome is then `aborted` with error `token budget`.
   */
  tokenBudget?: number;
}

export type SessionSink = (event: SessionEvent) => void;

export interface LlmProvider {
  readonly name: ProviderName;
  /**
   * Runs one session. Resolves (never rejects) with the outcome for everything the CLI or the model can do wrong;
   * rejects only if `sink` throws (the session is aborted first).
   */
  run(request: SessionRequest, sink: SessionSink): Promise<SessionOutcome>;
}
