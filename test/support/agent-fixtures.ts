/**
 * @module Test fixtures for the agent runtime: settings that run sessions on the fake CLIs, the environment that picks
 * a fake's scenario and agent work, temp git repositories registered in `repositories`, and polling helpers. No vitest
 * import: the agent worker process (`agent-worker-process.ts`, run from `dist/`) uses it too.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import { pino } from 'pino';
import { settingsProviderFactory } from '../../src/agents/provider-factory.js';
import type { AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import { SettingsSchema, type Settings, type SettingsInput } from '../../src/config/settings-schema.js';
import type { TaskQueue } from '../../src/queue/task-queue.js';
import type { Database } from '../../src/store/schema.js';
import { builtScript, repoRoot } from './worker-processes.js';

export const FAKE_CLAUDE_PATH = path.join(repoRoot(), 'test', 'support', 'fake-cli', 'fake-claude.mjs');
export const FAKE_CODEX_PATH = path.join(repoRoot(), 'test', 'support', 'fake-cli', 'fake-codex.mjs');

/** A recorded CLI output (test/fixtures/cli-recordings). */
export function recordingFile(provider: 'claude' | 'codex', name: string): string {
  const file = path.join(repoRoot(), 'test', 'fixtures', 'cli-recordings', provider, name);
  if (!fs.existsSync(file)) throw new Error(`no recording ${file}`);
  return file;
}

/** The `autodev` CLI from the build: sessions get `node <it> mcp --session-dir DIR` as their MCP server. */
export function autodevCliEntry(): string {
  return builtScript('cli/autodev.js');
}

export type FakeScenarioName = 'replay' | 'crash' | 'hang' | 'over-budget' | 'slow' | 'write-hang' | 'escape';

/** What a fake CLI session does (see test/support/fake-cli/fake-cli-common.mjs). */
export interface FakeSession {
  scenario?: FakeScenarioName;
  /** A file under test/fixtures/cli-recordings/<provider>/. */
  recording?: string;
  /** The result the fake passes to submit_result ({{task_id}}, {{attempt}}, {{branch}} are filled in). */
  submit?: unknown;
  /** Also write the result straight into result.json, bypassing the tool's validation. */
  submitDirect?: boolean;
  /** create_task / post_discussion calls before submit_result. */
  outbox?: { tool: 'create_task' | 'post_discussion'; arguments: Record<string, unknown> }[];
  /** Files written into the session's working directory. */
  write?: Record<string, string>;
  /** Where the fake writes the prompt it got; relative = inside the session directory. */
  promptFile?: string;
  escapeWrite?: string[];
  escapeRead?: string[];
  /** Where the escape report goes; relative = inside the session directory (default: the working directory). */
  escapeReport?: string;
  /** Per task type (context.json's task.type): write / outbox / submit replacing the ones above for that type. */
  byType?: Record<string, Pick<FakeSession, 'write' | 'outbox' | 'submit'>>;
}

/** The environment (`llm.providers.<name>.env`) that makes a fake CLI play `session`. */
export function fakeSessionEnv(provider: 'claude' | 'codex', session: FakeSession): Record<string, string> {
  const env: Record<string, string> = { FAKE_CLI_SCENARIO: session.scenario ?? 'replay' };
  if (session.recording) env.FAKE_CLI_RECORDING = recordingFile(provider, session.recording);
  if (session.submit !== undefined) env.FAKE_CLI_SUBMIT = JSON.stringify(session.submit);
  if (session.submitDirect) env.FAKE_CLI_SUBMIT_DIRECT = '1';
  if (session.outbox) env.FAKE_CLI_OUTBOX = JSON.stringify(session.outbox);
  if (session.write) env.FAKE_CLI_WRITE = JSON.stringify(session.write);
  if (session.promptFile) env.FAKE_CLI_PROMPT_FILE = session.promptFile;
  if (session.escapeWrite) env.FAKE_CLI_ESCAPE_WRITE = JSON.stringify(session.escapeWrite);
  if (session.escapeRead) env.FAKE_CLI_ESCAPE_READ = JSON.stringify(session.escapeRead);
  if (session.escapeReport) env.FAKE_CLI_ESCAPE_REPORT = session.escapeReport;
  if (session.byType) env.FAKE_CLI_BY_TYPE = JSON.stringify(session.byType);
  return env;
}

export type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `over` laid over `base`: objects merge key by key, anything else replaces. */
export function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isTree(current) && isTree(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/**
 * The stand-in credentials the fake CLIs are "logged in" with (`llm.providers.<name>.env`): the agents claim only
 * while a provider they may use has credentials (`provider-readiness.ts`). Variables no test passes through.
 */
export const STAND_IN_CREDENTIALS = {
  claude: { CLAUDE_CODE_OAUTH_TOKEN: 'stand-in-token-for-the-fake-claude-cli' },
  codex: { CODEX_API_KEY: 'stand-in-key-for-the-fake-codex-cli' },
} as const;

export interface AgentSettingsOptions {
  claude?: FakeSession;
  codex?: FakeSession;
  /** Which fake CLIs get stand-in credentials (default both); `[]`: none is logged in. */
  loggedIn?: readonly ('claude' | 'codex')[];
  /** Any other settings, deep-merged last. */
  overrides?: SettingsInput;
}

/**
 * Validated settings whose providers are the fake CLIs playing `claude` / `codex` (logged in with stand-in
 * credentials), sandboxed with bubblewrap, with retries far enough out that a failed attempt is not run again during a test.
 */
export function agentSettingsInput(options: AgentSettingsOptions = {}): SettingsInput {
  const loggedIn = options.loggedIn ?? ['claude', 'codex'];
  const login = (provider: 'claude' | 'codex') => (loggedIn.includes(provider) ? STAND_IN_CREDENTIALS[provider] : {});
  const base: Tree = {
    llm: {
      providers: {
        claude: {
          executable: FAKE_CLAUDE_PATH,
          env: { ...fakeSessionEnv('claude', options.claude ?? {}), ...login('claude') },
        },
        codex: {
          executable: FAKE_CODEX_PATH,
          env: { ...fakeSessionEnv('codex', options.codex ?? {}), ...login('codex') },
        },
      },
    },
    sandbox: { mode: 'bubblewrap' },
    queue: { retry_base_seconds: 600, retry_max_seconds: 900 },
    watcher: { restart_delay: 0.2 },
  };
  return deepMerge(base, (options.overrides ?? {}) as Tree) as SettingsInput;
}

export function agentSettings(options: AgentSettingsOptions = {}): Settings {
  return SettingsSchema.parse(agentSettingsInput(options));
}

/**
 * The agent runtime's dependencies in a test: a silent logger, the data dir `<root>/data`, an environment of PATH and
 * HOME only, and providers from `settings`.
 */
export function testRuntimeDeps(
  queue: TaskQueue,
  settings: Settings,
  dirs: { root: string; home: string },
  cliEntry: string,
): AgentRuntimeDeps {
  return {
    queue,
    settings,
    dataDir: path.join(dirs.root, 'data'),
    logger: pino({ level: 'silent' }),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dirs.home },
    createProvider: settingsProviderFactory({ settings }),
    cliEntry,
  };
}

/** A git repository with one commit on `main` in `<parent>/<name>`; returns its path and that commit. */
export function makeGitRepo(parent: string, name = 'repo'): { path: string; initialCommit: string } {
  const repo = path.join(parent, name);
  fs.mkdirSync(repo, { recursive: true });
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, '-c', 'user.name=Test', '-c', 'user.email=test@localhost', ...args], {
      encoding: 'utf8',
    }).trim();
  git('init', '--quiet', '--initial-branch=main');
  fs.writeFileSync(path.join(repo, 'README.md'), '# sample\n');
  git('add', '--all');
  git('commit', '--quiet', '-m', 'initial commit');
  return { path: repo, initialCommit: git('rev-parse', 'HEAD') };
}

/** `git -C repo ...`, trimmed stdout. */
export function gitIn(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
}

/** Registers a repository row (forge `local`) and returns its id. */
export async function registerRepo(
  db: Kysely<Database>,
  repo: { name: string; location: string; defaultBranch?: string },
): Promise<number> {
  const now = Date.now();
  const row = await db
    .insertInto('repositories')
    .values({
      name: repo.name,
      forge: 'local',
      location: repo.location,
      default_branch: repo.defaultBranch ?? 'main',
      test_command: null,
      deploy_command: null,
      lint_command: null,
      settings: '{}',
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws `what` after `timeoutMs` (a function
 * is called then, to describe the state that was waited on).
 */
export async function waitFor<T>(
  what: string | (() => Promise<string>),
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const described = typeof what === 'string' ? what : await what();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}`);
    }
    await sleep(everyMs);
  }
}

/** Kinds of events that end one attempt of a task. */
export const SETTLE_EVENT_KINDS = ['task.completed', 'task.retry_scheduled', 'task.failed', 'task.released'] as const;

/** The task's settle events (oldest first): how each attempt so far ended. */
export async function settleEvents(db: Kysely<Database>, taskId: number) {
  return db
    .selectFrom('events')
    .select(['kind', 'data', 'actor'])
    .where('subject_type', '=', 'task')
    .where('subject_id', '=', String(taskId))
    .where('kind', 'in', [...SETTLE_EVENT_KINDS])
    .orderBy('id')
    .execute();
}

/** Processes whose command line mentions `text` (the data dir: sandbox wrappers, CLIs, MCP servers). */
export function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(text)) found.push(`${pid}: ${cmdline.slice(0, 200)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
