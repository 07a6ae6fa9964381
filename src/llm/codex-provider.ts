/**
 * @module The `codex` provider: one Codex CLI turn through @openai/codex-sdk (`exec --experimental-json`), events
 * mapped with codex-events.ts, outcome judged here. Settings' Codex `config` overrides go through the SDK's `config`
 * option (it turns them into `--config key=value` flags).
 */
import { Codex, type CodexOptions, type ThreadEvent, type ThreadOptions } from '@openai/codex-sdk';
import { initialCodexMapState, mapCodexEvent, detectCodexRateLimit, type CodexMapState } from './codex-events.js';
import { cliTimeZone, resolveExecutable } from './executable.js';
import type { LlmProvider, SessionRequest, SessionSink } from './provider.js';
import { errorMessage, SessionGuard, stopError, type StopReason } from './session-guard.js';
import type { SessionOutcome } from './session-events.js';

export type CodexConfig = NonNullable<CodexOptions['config']>;

/** Settings of the codex provider (`llm.providers.codex`). */
export interface CodexProviderOptions {
  /** A path, or a name looked up on the session's PATH. Omitted: the Codex binary of the installed @openai/codex. */
  executable?: string;
  /** Default model; a request's `model` wins. */
  model?: string;
  /** Extra environment for the CLI, laid over the request's scrubbed env. */
  env?: Record<string, string>;
  /** Codex config overrides (`llm.providers.codex.config`), e.g. a custom `model_providers` entry. */
  config?: CodexConfig;
  /** The zone Codex prints reset times in; default: the session env's TZ, else this machine's zone. */
  timeZone?: string;
  now?: () => number;
  /** How long to wait for the SDK to wind down after an abort before giving up on it. */
  settleMs?: number;
  /**
   * Codex's own sandbox for writing roles (read-only roles always get `read-only`). Default `workspace-write`. Use
   * `danger-full-access` only when the whole CLI already runs inside Auto-Dev's bubblewrap sandbox and Codex's Linux
   * sandbox cannot nest inside it (then every write fails with "Failed to write file").
   */
  writerSandbox?: 'workspace-write' | 'danger-full-access';
  /**
   * Codex's own sandbox for read-only roles. Default `read-only`. Use `danger-full-access` only when the whole CLI
   * already runs inside Auto-Dev's bubblewrap sandbox, which mounts the checkout read-only: Codex's read-only sandbox
   * cannot nest inside it (as root every command fails with "bwrap: setting up uid map: Operation not permitted"),
   * so a reviewer could not even run `git diff`.
   */
  readerSandbox?: 'read-only' | 'danger-full-access';
}

const DEFAULT_SETTLE_MS = 3000;

/**
 * The Codex config for a request (pure): the settings' overrides, plus the system prompt append as
 * `developer_instructions` (after any configured ones) and the request's MCP servers under `mcp_servers`, each
 * `required` so the session never starts without them.
 */
export function codexConfig(request: SessionRequest, settings: CodexProviderOptions): CodexConfig {
  const config: CodexConfig = structuredClone(settings.config ?? {});
  if (request.systemPromptAppend) {
    const configured = config.developer_instructions;
    config.developer_instructions =
      typeof configured === 'string' && configured
        ? `${configured}\n\n${request.systemPromptAppend}`
        : request.systemPromptAppend;
  }
  if (request.mcpServers && Object.keys(request.mcpServers).length > 0) {
    const existing = config.mcp_servers;
    const servers: CodexConfig =
      typeof existing === 'object' && existing !== null && !Array.isArray(existing) ? { ...existing } : {};
    for (const [name, spec] of Object.entries(request.mcpServers)) {
      // `required`: Codex waits for the server before its first model request (and fails if it cannot start).
      // Without it Codex 0.169 does not wait: a server slower to start than the first request (node under load)
      // is left out of the tool list and tool_search finds none of its tools for the whole session.
      const server: CodexConfig = { command: spec.command, args: spec.args ?? [], required: true };
      if (spec.env && Object.keys(spec.env).length > 0) server.env = { ...spec.env };
      servers[name] = server;
    }
    config.mcp_servers = servers;
  }
  return config;
}

/** The thread options for a request (pure). `approvalPolicy: never`: nobody is there to approve. */
export function codexThreadOptions(request: SessionRequest, settings: CodexProviderOptions): ThreadOptions {
  const options: ThreadOptions = {
    sandboxMode: request.readOnly
      ? (settings.readerSandbox ?? 'read-only')
      : (settings.writerSandbox ?? 'workspace-write'),
    workingDirectory: request.cwd,
    skipGitRepoCheck: true,
    approvalPolicy: 'never',
  };
  const model = request.model ?? settings.model;
  if (model) options.model = model;
  return options;
}

export interface CodexRunFacts {
  state: CodexMapState;
  stopReason: StopReason | null;
  /** What the SDK threw before the turn ended, if anything. */
  crash: string | null;
  now: number;
  timeZone: string;
}

/** Judges a Codex session (pure). */
export function decideCodexOutcome(
  facts: CodexRunFacts,
): Pick<SessionOutcome, 'status' | 'error' | 'rateLimitResetsAt' | 'resultText'> {
  const { state } = facts;
  const resultText = state.lastAgentMessage;
  if (state.turn === 'completed') return { status: 'succeeded', resultText };
  if (facts.stopReason && state.turn === 'running')
    return { status: 'aborted', error: stopError(facts.stopReason), resultText };
  // The turn failed, or the CLI died mid-turn: a limit message among its errors still makes it a rate limit.
  const texts = [state.failureMessage, ...[...state.errorMessages].reverse()].filter((t): t is string => Boolean(t));
  for (const text of texts) {
    const limit = detectCodexRateLimit(text, facts.now, facts.timeZone);
    if (limit) return { status: 'rate_limited', error: text, rateLimitResetsAt: limit.resetsAt, resultText };
  }
  if (state.turn === 'failed')
    return { status: 'failed', error: state.failureMessage ?? 'Codex turn failed', resultText };
  return {
    status: 'failed',
    error: facts.crash
      ? `Codex exited before finishing the turn: ${facts.crash}`
      : 'Codex ended without finishing the turn',
    resultText,
  };
}

export function createCodexProvider(settings: CodexProviderOptions = {}): LlmProvider {
  const clock = settings.now ?? Date.now;
  const settleMs = settings.settleMs ?? DEFAULT_SETTLE_MS;

  async function run(request: SessionRequest, sink: SessionSink): Promise<SessionOutcome> {
    const guard = new SessionGuard(request, sink, clock);
    const env = { ...request.env, ...settings.env };
    const timeZone = cliTimeZone(env, settings.timeZone);
    const threadOptions = codexThreadOptions(request, settings);
    let state = initialCodexMapState();
    let crash: string | null = null;

    const finish = (decided: ReturnType<typeof decideCodexOutcome>): SessionOutcome => {
      const outcome: SessionOutcome = {
        ...decided,
        provider: 'codex',
        providerSessionId: state.threadId ?? request.resumeSessionId ?? null,
        model: threadOptions.model ?? (typeof settings.config?.model === 'string' ? settings.config.model : null),
        usage: guard.usage,
        costUsd: null,
        durationMs: guard.elapsedMs(),
      };
      if (outcome.status !== 'rate_limited') delete outcome.rateLimitResetsAt;
      return outcome;
    };

    try {
      if (guard.stopReason) return finish({ status: 'aborted', error: stopError(guard.stopReason), resultText: '' });
      const codexOptions: CodexOptions = { env, config: codexConfig(request, settings) };
      if (settings.executable) {
        const resolved = resolveExecutable(settings.executable, env.PATH, process.cwd());
        if (!resolved) {
          const message = `Codex executable "${settings.executable}" was not found (llm.providers.codex.executable)`;
          guard.emit([{ type: 'error', fatal: true, message }]);
          return finish({ status: 'failed', error: message, resultText: '' });
        }
        codexOptions.codexPathOverride = resolved;
      }
      try {
        const codex = new Codex(codexOptions);
        const thread = request.resumeSessionId
          ? codex.resumeThread(request.resumeSessionId, threadOptions)
          : codex.startThread(threadOptions);
        // The SDK spawns the CLI with this signal: aborting it sends SIGTERM. The prompt goes on stdin, then EOF.
        const { events } = await thread.runStreamed(request.prompt, { signal: guard.signal });
        for await (const event of guard.untilStopped<ThreadEvent>(events, settleMs)) {
          const mapped = mapCodexEvent(event, state, { now: clock(), timeZone });
          state = mapped.state;
          guard.emit(mapped.events);
          // The verdict is in; leaving the loop makes the SDK kill the CLI if it lingers.
          if (state.turn !== 'running') break;
        }
      } catch (error) {
        if (state.turn === 'running' && !guard.stopReason) crash = errorMessage(error).trim();
      }
      if (crash)
        guard.emit([{ type: 'error', fatal: true, message: `Codex exited before finishing the turn: ${crash}` }]);
      const outcome = finish(
        decideCodexOutcome({ state, stopReason: guard.stopReason, crash, now: clock(), timeZone }),
      );
      if (guard.sinkFailure) throw guard.sinkFailure.error;
      return outcome;
    } finally {
      guard.dispose();
    }
  }

  return { name: 'codex', run };
}
