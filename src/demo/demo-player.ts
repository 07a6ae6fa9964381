/**
 * @module The demo's provider: the `replay` provider playing the recording `recordings.ts` picks for the session's
 * task (role, task type, round), plus the two things a recording cannot know in advance, carried out for real:
 *
 * - a recorded `Bash` tool call whose command is exactly `git add -A && git commit -m "<message>"` commits the
 *   session's worktree (so the builder's commits are real and their shas are true);
 * - a recorded call of the session's `autodev` MCP tools (`mcp__autodev__read_task`, `mcp__autodev__submit_result`,
 *   ...) goes to the session's MCP server: the server `autodev mcp` runs (`createSessionMcpServer`, same validators),
 *   on the session directory named in `request.mcpServers.autodev`, connected in-process over the SDK's in-memory
 *   transport instead of a child process (starting one per session costs seconds on a busy machine). It writes
 *   `result.json` / `outbox.jsonl` exactly as for a live session, and the runner re-validates them as always.
 *
 * For those calls the recorded `tool_result` is dropped and the real answer is put in the transcript instead. Strings
 * in recorded events may use `{{task_id}}`, `{{branch}}`, `{{base_branch}}`, `{{head}}` and `{{head_short}}` (the
 * worktree's HEAD when the event is played). Everything else is replayed as recorded; the replay provider labels the
 * transcript "[replayed session: <file>]" and every outcome says `provider: 'replay'`.
 */
import fs from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { LlmProvider, SessionRequest, SessionSink, StdioMcpServerSpec } from '../llm/provider.js';
import { createReplayProvider } from '../llm/replay-provider.js';
import type { SessionEvent, SessionOutcome } from '../llm/session-events.js';
import { checkResult } from '../mcp/run-mcp-stdio.js';
import { createSessionMcpServer } from '../mcp/session-mcp-server.js';
import { readSessionContext, type SessionContext } from '../mcp/session-files.js';
import { validateNewTask } from '../queue/enqueue-task.js';
import { git } from '../workspace/git.js';
import { recordingFor, roundOf } from './recordings.js';

export interface DemoPlayerOptions {
  /** Where the recordings are (`examples/recordings/`). */
  recordingsDir: string;
  /** Pause before each recorded event, to look like a live session (0 in tests). */
  delayMs: number;
}

/** The one git command a recording may ask to run for real. */
const COMMIT_COMMAND = /^git add -A && git commit -m "([^"\\]+)"$/;
const MCP_TOOL = /^mcp__autodev__([a-z_]+)$/;
/** Who the builder's commits are by: recorded agents, so they say so. */
const REPLAYED_AGENT_IDENTITY = [
  '-c',
  'user.name=Auto-Dev builder (replayed)',
  '-c',
  'user.email=builder@autodev.localhost',
];

export function createDemoPlayer(options: DemoPlayerOptions): LlmProvider {
  return {
    name: 'replay',
    async run(request: SessionRequest, sink: SessionSink): Promise<SessionOutcome> {
      const started = Date.now();
      const failed = (error: string): SessionOutcome => {
        sink({ type: 'error', fatal: true, message: error });
        return {
          status: 'failed',
          provider: 'replay',
          providerSessionId: null,
          model: null,
          usage: { input_tokens: 0, output_tokens: 0, cache_read_tokens: 0, cache_creation_tokens: 0 },
          costUsd: null,
          durationMs: Date.now() - started,
          resultText: '',
          error,
        };
      };
      const server = request.mcpServers?.autodev;
      const sessionDir = server ? sessionDirOf(server) : undefined;
      if (!server || !sessionDir) return failed('the demo player needs the session\'s "autodev" MCP server');
      const context = await readSessionContext(sessionDir);
      const key = { role: context.role, taskType: context.task.type, round: roundOf(context.task.payload) };
      const file = recordingFor(key, options.recordingsDir);
      if (!file || !(await exists(file))) {
        return failed(
          `the demo has no recorded session for ${key.role} ${key.taskType} round ${key.round} ` +
            `(in ${options.recordingsDir}); it only plays the story it ships with`,
        );
      }

      const live = new LiveActions(request, context, sessionDir);
      const replay = createReplayProvider({ sessionFile: file, delayMs: options.delayMs });
      // Events are handled one after another, in order; a live call holds back the events after it.
      let chain: Promise<void> = Promise.resolve();
      let sinkError: unknown;
      let liveError: unknown;
      try {
        const outcome = await replay.run(request, (event) => {
          chain = chain.then(async () => {
            if (sinkError !== undefined) return;
            let out: SessionEvent[];
            try {
              out = await live.handle(event);
            } catch (error) {
              liveError ??= error;
              out = [{ type: 'error', fatal: true, message: `demo player: ${messageOf(error)}` }];
            }
            try {
              for (const e of out) sink(e);
            } catch (error) {
              sinkError = error;
            }
          });
        });
        await chain;
        if (sinkError !== undefined) throw sinkError;
        if (liveError !== undefined && outcome.status === 'succeeded') {
          return { ...outcome, status: 'failed', error: `demo player: ${messageOf(liveError)}` };
        }
        return outcome;
      } finally {
        await chain.catch(() => undefined);
        await live.close();
      }
    },
  };
}

/** `--session-dir DIR` of the session's MCP server spec. */
function sessionDirOf(server: StdioMcpServerSpec): string | undefined {
  const args = server.args ?? [];
  const at = args.indexOf('--session-dir');
  return at >= 0 ? args[at + 1] : undefined;
}

/** Fills the `{{...}}` placeholders and carries out the live tool calls of one session. */
class LiveActions {
  /** Ids of recorded tool calls answered for real: their recorded results are dropped. */
  private readonly answered = new Set<string>();
  private client: Client | undefined;
  private server: McpServer | undefined;

  constructor(
    private readonly request: SessionRequest,
    private readonly context: SessionContext,
    private readonly sessionDir: string,
  ) {}

  async handle(event: SessionEvent): Promise<SessionEvent[]> {
    if (event.type === 'tool_result' && this.answered.has(event.id)) return [];
    const filled = await this.fill(event);
    if (filled.type !== 'tool_call') return [filled];
    const input = (filled.input ?? {}) as Record<string, unknown>;
    const commit = filled.name === 'Bash' && typeof input.command === 'string' && COMMIT_COMMAND.exec(input.command);
    if (commit) {
      this.answered.add(filled.id);
      return [filled, await this.commit(filled.id, commit[1] as string)];
    }
    const tool = MCP_TOOL.exec(filled.name);
    if (tool) {
      this.answered.add(filled.id);
      return [filled, await this.callTool(filled.id, tool[1] as string, input)];
    }
    return [filled];
  }

  private async commit(id: string, message: string): Promise<SessionEvent> {
    if (this.request.readOnly) {
      return { type: 'tool_result', id, output: 'read-only session: nothing may be committed', is_error: true };
    }
    const cwd = this.request.cwd;
    await git(cwd, ['add', '--all']);
    const result = await git(
      cwd,
      [...REPLAYED_AGENT_IDENTITY, '-c', 'commit.gpgsign=false', 'commit', '--no-verify', '-m', message],
      {
        okExitCodes: [1],
      },
    );
    const output = `${result.stdout}${result.stderr}`.trim();
    return { type: 'tool_result', id, output, is_error: result.exitCode !== 0 };
  }

  private async callTool(id: string, name: string, input: Record<string, unknown>): Promise<SessionEvent> {
    const client = await this.connect();
    const result = await client.callTool({ name, arguments: input });
    const content = Array.isArray(result.content) ? (result.content as { type: string; text?: string }[]) : [];
    const output = content
      .filter((c) => c.type === 'text')
      .map((c) => c.text ?? '')
      .join('\n');
    return { type: 'tool_result', id, output, is_error: result.isError === true };
  }

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    const server = createSessionMcpServer({
      sessionDir: this.sessionDir,
      validateResult: checkResult,
      validateNewTask,
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'autodev-demo-player', version: '1.0.0' });
    await client.connect(clientSide);
    this.client = client;
    this.server = server;
    return client;
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => undefined);
    await this.server?.close().catch(() => undefined);
    this.client = undefined;
    this.server = undefined;
  }

  private async fill(event: SessionEvent): Promise<SessionEvent> {
    const text = JSON.stringify(event);
    if (!text.includes('{{')) return event;
    const values: Record<string, string> = {
      task_id: String(this.context.task.id),
      branch: this.context.branch ?? '',
      base_branch: this.context.repo?.default_branch ?? '',
    };
    if (text.includes('{{head')) {
      const head = (await git(this.request.cwd, ['rev-parse', 'HEAD'])).stdout.trim();
      values.head = head;
      values.head_short = head.slice(0, 7);
    }
    const replaced = text.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
      const value = values[name];
      return value === undefined ? whole : JSON.stringify(value).slice(1, -1);
    });
    return JSON.parse(replaced) as SessionEvent;
  }
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
