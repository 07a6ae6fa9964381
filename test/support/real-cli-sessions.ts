/**
 * @module Runs agent tasks through Auto-Dev's own runtime (createAgentTaskHandler: sandbox wrapper, `autodev mcp`,
 * session dir, result contracts) on the REAL Claude Code and Codex CLIs, whose model is a scripted agent played by
 * local stand-ins of the Anthropic Messages API and the OpenAI Responses API (one of each, shared by all sessions).
 * Also reports where each session's wall time went (groundwork for the overhead benchmark).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { bundledCliPath } from '../../src/agents/agent-cli.js';
import { settingsProviderFactory } from '../../src/agents/provider-factory.js';
import { createAgentTaskHandler, type AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import { queueSettingsFrom } from '../../src/config/load-settings.js';
import { SettingsSchema, type Settings, type SettingsInput } from '../../src/config/settings-schema.js';
import { TASK_TYPES_BY_ROLE, type Role } from '../../src/domain/roles.js';
import type { LlmProviderName } from '../../src/config/settings-schema.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import type { DatabaseHandle } from '../../src/store/open-database.js';
import { autodevCliEntry, deepMerge, settleEvents, waitFor } from './agent-fixtures.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/demo/scripted-model-server.js';
import { startMockResponsesServer, type MockResponsesServer } from './mock-responses-server.js';
import { scriptedClaude } from '../../src/demo/scripted-claude.js';
import { scriptedCodex } from './scripted-codex.js';
import { turnTimings, type ScriptedAgents } from '../../src/demo/scripted-agent.js';

export const REAL_CLI_PROVIDERS = ['claude', 'codex'] as const satisfies readonly LlmProviderName[];

/** The model names the stand-ins answer as (any name works; these are what the real CLIs know). */
export const STAND_IN_MODELS: Record<LlmProviderName, string> = { claude: 'claude-sonnet-4-5', codex: 'gpt-5.5' };

/** Whether both real CLIs are installed (npm ci puts them in node_modules); a test asserts it. */
export function realClisInstalled(): Record<LlmProviderName, string | null> {
  const found = (provider: LlmProviderName) => {
    try {
      const cli = bundledCliPath(provider);
      return fs.existsSync(cli) ? cli : null;
    } catch {
      return null;
    }
  };
  return { claude: found('claude'), codex: found('codex') };
}

export interface ModelStandIns {
  messages: ScriptedModelServer;
  responses: MockResponsesServer;
  close(): Promise<void>;
}

export async function startModelStandIns(agents: ScriptedAgents): Promise<ModelStandIns> {
  const messages = await startScriptedModelServer(scriptedClaude(agents));
  const responses = await startMockResponsesServer(scriptedCodex(agents));
  return {
    messages,
    responses,
    close: async () => {
      await messages.close();
      await responses.close();
    },
  };
}

/**
 * Settings whose sessions run on the real CLIs against the stand-ins, sandboxed with bubblewrap. Nothing root-specific
 * is set: as root, the sandbox runs the CLI as an unprivileged uid (workspace/sandbox.ts `sandboxUid`).
 */
export function realCliSettings(
  standIns: ModelStandIns,
  provider: LlmProviderName,
  overrides: SettingsInput = {},
): Settings {
  return SettingsSchema.parse(
    deepMerge(
      {
        llm: {
          default_provider: provider,
          fallback_provider: provider,
          providers: {
            claude: {
              executable: null,
              model: STAND_IN_MODELS.claude,
              env: {
                ANTHROPIC_BASE_URL: standIns.messages.baseUrl,
                ANTHROPIC_API_KEY: 'sk-ant-stand-in',
                CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
              },
            },
            codex: {
              executable: null,
              model: STAND_IN_MODELS.codex,
              env: { STAND_IN_KEY: 'sk-stand-in' },
              config: {
                model_provider: 'standin',
                model_providers: {
                  standin: {
                    name: 'stand-in',
                    base_url: standIns.responses.baseUrl,
                    wire_api: 'responses',
                    env_key: 'STAND_IN_KEY',
                  },
                },
              },
            },
          },
        },
        sandbox: { mode: 'bubblewrap' },
        queue: { retry_base_seconds: 600, retry_max_seconds: 900 },
      },
      overrides,
    ),
  );
}

export interface RealCliRuntime {
  queue: TaskQueue;
  deps: AgentRuntimeDeps;
  root: string;
  dataDir: string;
  home: string;
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * A runtime on `handle` whose sessions run on `provider`'s real CLI, with a throwaway operator HOME (each session
 * gets a home of its own in its session dir; this one holds nothing).
 */
export function realCliRuntime(
  handle: DatabaseHandle,
  standIns: ModelStandIns,
  provider: LlmProviderName,
  overrides: SettingsInput = {},
) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `autodev-real-${provider}-`));
  const dataDir = path.join(root, 'data');
  const home = path.join(root, 'home');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  const settings = realCliSettings(standIns, provider, overrides);
  const queue = new TaskQueue(handle, queueSettingsFrom(settings));
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const deps: AgentRuntimeDeps = {
    queue,
    settings,
    dataDir,
    logger,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home },
    createProvider: settingsProviderFactory({ settings }),
    cliEntry: autodevCliEntry(),
  };
  const runtime: RealCliRuntime = {
    queue,
    deps,
    root,
    dataDir,
    home,
    logs,
    close: async () => {
      await queue.close();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  return runtime;
}

/**
 * Runs `loops` real worker loops for `role` (so as many sessions can run at once) until every task in `taskIds` has
 * settled `settled` times in all (default once: its first attempt ended), then stops them.
 */
export async function runAttempts(
  runtime: RealCliRuntime,
  role: Role,
  taskIds: readonly number[],
  options: { loops?: number; timeoutMs?: number; settled?: number } = {},
) {
  const stop = new AbortController();
  const errors: unknown[] = [];
  const loops = Array.from({ length: options.loops ?? 1 }, (_, n) =>
    runWorker({
      queue: runtime.queue,
      workerId: `${role}-real-cli-worker-${n + 1}`,
      types: TASK_TYPES_BY_ROLE[role],
      handler: createAgentTaskHandler(runtime.deps, role),
      signal: stop.signal,
      idleWaitMs: 100,
      onError: (error) => errors.push(error),
    }),
  );
  const db = runtime.queue.handle.db;
  try {
    await waitFor(
      `tasks ${taskIds.join(', ')} to settle`,
      async () => {
        const wanted = options.settled ?? 1;
        for (const id of taskIds) if ((await settleEvents(db, id)).length < wanted) return false;
        return true;
      },
      options.timeoutMs ?? 120_000,
    );
  } finally {
    stop.abort();
    await Promise.all(loops);
  }
  return { tasks: await Promise.all(taskIds.map((id) => runtime.queue.get(id))), errors };
}

/** Runs one worker loop for `role` until task `taskId` has settled once. */
export async function runOneAttempt(runtime: RealCliRuntime, role: Role, taskId: number) {
  const { tasks, errors } = await runAttempts(runtime, role, [taskId]);
  return { task: tasks[0]!, errors };
}

/**
 * One line on where a session's wall time went: from the session row's start to the CLI's first model request (CLI
 * and sandbox start, MCP server start), the time after each kind of answer until the next request (tools, MCP calls,
 * tool searches: the CLI's work around them included), and from the last request to the session's end.
 */
export function sessionTimeSplit(
  agents: ScriptedAgents,
  session: {
    task_id: number | null;
    provider: string;
    provider_session_id: string | null;
    started_at: number;
    finished_at: number | null;
  },
): string {
  const { provider, task_id: taskId } = session;
  const turns = agents.session(provider, session.provider_session_id);
  if (!turns) return `${provider} task ${taskId}: the stand-in never saw this session`;
  const timings = turnTimings(turns);
  const end = session.finished_at ?? timings.lastRequestAt;
  const parts = Object.entries(timings.afterAnswerMs).map(([kind, ms]) => `${kind} ${ms} ms`);
  return (
    `${provider} task ${taskId}: wall ${end - session.started_at} ms = start to first model request ` +
    `${timings.firstRequestAt - session.started_at} ms, ${timings.requests} model requests (answered at once), ` +
    `after answers: ${parts.join(', ') || 'none'}, last request to session end ${end - timings.lastRequestAt} ms`
  );
}
