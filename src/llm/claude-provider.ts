/**
 * @module The `claude` provider: one Claude Code session through @anthropic-ai/claude-agent-sdk `query()`. It spawns
 * the CLI itself (to kill it at once on abort and keep its stderr), maps messages with claude-events.ts, and judges
 * the outcome. Which provider to use and what to do about a rate limit are the caller's business.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  query,
  type Options,
  type SDKMessage,
  type SDKResultMessage,
  type SpawnedProcess,
  type SpawnOptions,
} from '@anthropic-ai/claude-agent-sdk';
import {
  claudeResultError,
  claudeResultText,
  detectClaudeRateLimit,
  initialClaudeMapState,
  mapClaudeMessage,
} from './claude-events.js';
import { cliTimeZone, resolveExecutable } from './executable.js';
import type { LlmProvider, SessionRequest, SessionSink } from './provider.js';
import { errorMessage, SessionGuard, stopError, type StopReason } from './session-guard.js';
import type { SessionOutcome } from './session-events.js';

/** Settings of the claude provider (`llm.providers.claude`). */
export interface ClaudeProviderOptions {
  /** A path, or a name looked up on the session's PATH. Omitted: the Claude Code binary bundled with the SDK. */
  executable?: string;
  /** Default model; a request's `model` wins. */
  model?: string;
  /** Extra environment for the CLI (e.g. ANTHROPIC_BASE_URL), laid over the request's scrubbed env. */
  env?: Record<string, string>;
  /** The zone Claude prints reset times in; default: the session env's TZ, else this machine's zone. */
  timeZone?: string;
  now?: () => number;
  /** How long a killed CLI gets between SIGTERM and SIGKILL. */
  killGraceMs?: number;
}

/** The tools that change files; read-only sessions never get them. */
export const CLAUDE_WRITE_TOOLS = ['Write', 'Edit', 'MultiEdit', 'NotebookEdit'] as const;
/** Tools a read-only session may use without asking (everything else is denied: nobody answers permission prompts). */
export const CLAUDE_READ_ONLY_TOOLS = ['Read', 'Grep', 'Glob', 'LS', 'TodoWrite', 'WebSearch', 'WebFetch'] as const;

const DEFAULT_KILL_GRACE_MS = 3000;
const STDERR_TAIL_CHARS = 2000;

/**
 * The SDK options for a request (pure, so the permission setup can be checked without a CLI).
 * Writers run in `bypassPermissions` (Auto-Dev's own sandbox is the boundary); read-only roles run in `default` mode
 * with the write tools disallowed and only read tools (and their MCP servers) allowed: in a headless session nobody
 * answers a permission prompt, so any other tool is denied.
 */
export function claudeQueryOptions(request: SessionRequest, settings: ClaudeProviderOptions): Options {
  const options: Options = {
    cwd: request.cwd,
    env: { ...request.env, ...settings.env },
    systemPrompt: {
      type: 'preset',
      preset: 'claude_code',
      ...(request.systemPromptAppend ? { append: request.systemPromptAppend } : {}),
    },
    // The servers go on the command line, which every Claude Code version understands (see mcpServersDelivery).
    mcpServersDelivery: 'argv',
  };
  const model = request.model ?? settings.model;
  if (model) options.model = model;
  if (request.maxTurns !== undefined) options.maxTurns = request.maxTurns;
  if (request.resumeSessionId) options.resume = request.resumeSessionId;
  const mcpNames = Object.keys(request.mcpServers ?? {});
  if (request.mcpServers && mcpNames.length > 0) {
    options.mcpServers = Object.fromEntries(
      Object.entries(request.mcpServers).map(([name, spec]) => [
        name,
        { type: 'stdio' as const, command: spec.command, args: spec.args ?? [], env: spec.env ?? {} },
      ]),
    );
  }
  if (request.readOnly) {
    options.permissionMode = 'default';
    options.disallowedTools = [...CLAUDE_WRITE_TOOLS];
    options.allowedTools = [...CLAUDE_READ_ONLY_TOOLS, ...mcpNames.map((name) => `mcp__${name}`)];
  } else {
    options.permissionMode = 'bypassPermissions';
    options.allowDangerouslySkipPermissions = true;
  }
  return options;
}

/** Everything the outcome depends on, gathered while the session ran. */
export interface ClaudeRunFacts {
  /** rate_limit_event, assistant errors and the result: the messages that judge the outcome. */
  verdictMessages: readonly SDKMessage[];
  result: SDKResultMessage | null;
  stopReason: StopReason | null;
  /** What the SDK threw, if it threw before a result. */
  crash: string | null;
  now: number;
  timeZone: string;
}

/** Judges a Claude session (pure). */
export function decideClaudeOutcome(
  facts: ClaudeRunFacts,
): Pick<SessionOutcome, 'status' | 'error' | 'rateLimitResetsAt' | 'resultText'> {
  const { result } = facts;
  const resultText = result ? claudeResultText(result) : '';
  if (result && !result.is_error) return { status: 'succeeded', resultText };
  if (facts.stopReason && !result) return { status: 'aborted', error: stopError(facts.stopReason), resultText };
  const limit = detectClaudeRateLimit(facts.verdictMessages, facts.now, facts.timeZone);
  if (limit) return { status: 'rate_limited', error: limit.message, rateLimitResetsAt: limit.resetsAt, resultText };
  if (result) {
    const assistantError = facts.verdictMessages.find((m) => m.type === 'assistant' && m.error !== undefined);
    const code = assistantError?.type === 'assistant' ? ` (${assistantError.error})` : '';
    return { status: 'failed', error: `${claudeResultError(result)}${code}`, resultText };
  }
  return {
    status: 'failed',
    error: facts.crash
      ? `Claude Code exited before reporting a result: ${facts.crash}`
      : 'Claude Code ended without reporting a result',
    resultText,
  };
}

function isVerdictMessage(message: SDKMessage): boolean {
  return (
    message.type === 'result' ||
    message.type === 'rate_limit_event' ||
    (message.type === 'assistant' && message.error !== undefined)
  );
}

/** A child process we started, its stderr tail, and a way to end it for sure. */
class CliProcess {
  private stderrTail = '';
  private gone = false;
  readonly exited: Promise<void>;

  constructor(
    readonly child: ChildProcess,
    private readonly graceMs: number,
  ) {
    this.exited = new Promise((resolve) => {
      const done = () => {
        this.gone = true;
        resolve();
      };
      child.once('exit', done);
      // A process that could not be started emits 'error' and never 'exit'.
      child.once('error', () => {
        if (child.pid === undefined) done();
      });
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_CHARS);
    });
  }

  get stderr(): string {
    return this.stderrTail.trim();
  }

  isRunning(): boolean {
    return !this.gone && this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM now, SIGKILL after the grace period; resolves once the process is gone (or SIGKILL had its chance). */
  async terminate(): Promise<void> {
    if (!this.isRunning()) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.isRunning()) this.child.kill('SIGKILL');
    }, this.graceMs);
    timer.unref();
    await Promise.race([this.exited, delay(this.graceMs * 2)]);
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export function createClaudeProvider(settings: ClaudeProviderOptions = {}): LlmProvider {
  const clock = settings.now ?? Date.now;
  const graceMs = settings.killGraceMs ?? DEFAULT_KILL_GRACE_MS;

  async function run(request: SessionRequest, sink: SessionSink): Promise<SessionOutcome> {
    const guard = new SessionGuard(request, sink, clock);
    const env = { ...request.env, ...settings.env };
    const timeZone = cliTimeZone(env, settings.timeZone);
    let providerSessionId: string | null = request.resumeSessionId ?? null;
    let model: string | null = request.model ?? settings.model ?? null;
    let numTurns: number | undefined;
    let result: SDKResultMessage | null = null;
    let crash: string | null = null;
    const verdictMessages: SDKMessage[] = [];
    let cli: CliProcess | null = null;

    const finish = (decided: ReturnType<typeof decideClaudeOutcome>): SessionOutcome => {
      const outcome: SessionOutcome = {
        ...decided,
        provider: 'claude',
        providerSessionId,
        model,
        usage: guard.usage,
        costUsd: guard.costUsd,
        durationMs: guard.elapsedMs(),
      };
      if (numTurns !== undefined) outcome.numTurns = numTurns;
      if (outcome.status !== 'rate_limited') delete outcome.rateLimitResetsAt;
      return outcome;
    };

    try {
      if (guard.stopReason) return finish({ status: 'aborted', error: stopError(guard.stopReason), resultText: '' });
      const options = claudeQueryOptions(request, settings);
      if (settings.executable) {
        const resolved = resolveExecutable(settings.executable, env.PATH, process.cwd());
        if (!resolved) {
          const message = `Claude Code executable "${settings.executable}" was not found (llm.providers.claude.executable)`;
          guard.emit([{ type: 'error', fatal: true, message }]);
          return finish({ status: 'failed', error: message, resultText: '' });
        }
        options.pathToClaudeCodeExecutable = resolved;
      }
      options.abortController = guard.controller;
      options.spawnClaudeCodeProcess = (spawnOptions: SpawnOptions): SpawnedProcess => {
        const child = spawn(spawnOptions.command, spawnOptions.args, {
          cwd: spawnOptions.cwd,
          env: spawnOptions.env,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        const started = new CliProcess(child, graceMs);
        cli = started;
        const kill = () => void started.terminate();
        if (guard.signal.aborted) kill();
        else guard.signal.addEventListener('abort', kill, { once: true });
        void started.exited.then(() => guard.signal.removeEventListener('abort', kill));
        // ChildProcess satisfies SpawnedProcess (the SDK says so); its stdio are pipes because we asked for pipes.
        return child as SpawnedProcess;
      };

      let state = initialClaudeMapState();
      try {
        const messages = query({ prompt: request.prompt, options });
        for await (const message of guard.untilStopped(messages, graceMs)) {
          if (message.type === 'system' && message.subtype === 'init') {
            providerSessionId = message.session_id;
            if (message.model) model = message.model;
          }
          if (isVerdictMessage(message)) verdictMessages.push(message);
          const mapped = mapClaudeMessage(message, state, { now: clock(), timeZone });
          state = mapped.state;
          guard.emit(mapped.events);
          if (message.type === 'result') {
            result = message;
            providerSessionId = message.session_id || providerSessionId;
            numTurns = message.num_turns;
            // The verdict is in. Leaving the loop closes the SDK's side; the CLI exits on stdin EOF.
            break;
          }
        }
      } catch (error) {
        if (!result && !guard.stopReason) {
          const stderr = (cli as CliProcess | null)?.stderr;
          crash = stderr ? `${errorMessage(error)}; stderr: ${stderr}` : errorMessage(error);
        }
      }
      if (crash)
        guard.emit([{ type: 'error', fatal: true, message: `Claude Code exited before reporting a result: ${crash}` }]);
      const decided = decideClaudeOutcome({
        verdictMessages,
        result,
        stopReason: guard.stopReason,
        crash,
        now: clock(),
        timeZone,
      });
      const outcome = finish(decided);
      if (guard.sinkFailure) throw guard.sinkFailure.error;
      return outcome;
    } finally {
      guard.dispose();
      const running = cli as CliProcess | null;
      if (running?.isRunning()) {
        // Normally the CLI exits on its own once the SDK closes its stdin; give it the grace period, then end it.
        await Promise.race([running.exited, delay(graceMs)]);
        await running.terminate();
      }
    }
  }

  return { name: 'claude', run };
}
