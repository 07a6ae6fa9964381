/**
 * @module The sandbox as the agent runner sets it up: a fake CLI session (scenario "escape") tries to write outside its
 * worktree, read secrets in the data dir and home, and dumps its environment; none of it may work or leak. And
 * `sandbox.mode: none` runs the session directly, scrubbed environment still, with a loud UNSANDBOXED warning.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settingsProviderFactory } from '../../src/agents/provider-factory.js';
import {
  createAgentTaskHandler,
  resetUnsandboxedWarning,
  type AgentRuntimeDeps,
} from '../../src/agents/run-agent-task.js';
import { queueSettingsFrom } from '../../src/config/load-settings.js';
import { TASK_TYPES_BY_ROLE, type Role } from '../../src/domain/roles.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { setTreeWritable } from '../../src/workspace/file-modes.js';
import {
  agentSettings,
  autodevCliEntry,
  gitIn,
  makeGitRepo,
  registerRepo,
  settleEvents,
  waitFor,
  type AgentSettingsOptions,
} from '../support/agent-fixtures.js';
import { ONE_DIALECT, useTestDatabase, type TestDatabase } from '../support/dialects.js';

// Sessions start real processes (bubblewrap, node, the MCP server): generous on a loaded machine.
vi.setConfig({ testTimeout: 60_000 });

/** Secrets in the runner's environment that no session may see. */
const PARENT_SECRETS = {
  AWS_SECRET_ACCESS_KEY: 'aws-secret-6f1c0a',
  DATABASE_URL: 'postgres://autodev:db-password-93b2@db.internal/autodev',
  GITHUB_TOKEN: 'ghp_github-token-5d7e21',
  AUTODEV_ADMIN_TOKEN: 'admin-token-c4a8f3',
};
/** Allowed through for claude sessions: the CLI needs it. */
const ANTHROPIC_API_KEY = 'sk-ant-allowed-for-claude';
const PLANTED_SECRET = 'planted-secret-0e9d77';

interface EscapeReport {
  writes: { path: string; ok: boolean; error?: string }[];
  reads: { path: string; ok: boolean; content?: string; error?: string }[];
  env: Record<string, string>;
}

const roots: string[] = [];
const queues: TaskQueue[] = [];
afterEach(async () => {
  for (const queue of queues.splice(0)) await queue.close();
  for (const root of roots.splice(0)) {
    await setTreeWritable(root, true); // a reviewer's checkout has its write bits cleared
    fs.rmSync(root, { recursive: true, force: true });
  }
});
beforeEach(() => resetUnsandboxedWarning());

/**
 * A scratch root outside /tmp: the sandbox gets a private /tmp, which would hide paths under it rather than show
 * them read-only. Under /var/tmp the repository, home and data dir are visible, so the mounts are really tested.
 */
function scratchRoot(): string {
  const base = fs.existsSync('/var/tmp') ? '/var/tmp' : os.tmpdir();
  const root = fs.mkdtempSync(path.join(base, 'autodev-sandbox-'));
  roots.push(root);
  return root;
}

function makeRuntime(t: TestDatabase, root: string, options: AgentSettingsOptions) {
  const dataDir = path.join(root, 'data');
  const home = path.join(root, 'home');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.mkdirSync(path.join(home, '.ssh'), { recursive: true });
  const settings = agentSettings(options);
  const queue = new TaskQueue(t.handle, queueSettingsFrom(settings));
  queues.push(queue);
  const logs: { level: number; msg: string }[] = [];
  const deps: AgentRuntimeDeps = {
    queue,
    settings,
    dataDir,
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ANTHROPIC_API_KEY, ...PARENT_SECRETS },
    createProvider: settingsProviderFactory({ settings }),
    cliEntry: autodevCliEntry(),
  };
  return { queue, deps, dataDir, home, logs };
}

async function runOnce(deps: AgentRuntimeDeps, role: Role, taskId: number) {
  const stop = new AbortController();
  const loop = runWorker({
    queue: deps.queue,
    workerId: `${role}-sandbox-test`,
    types: TASK_TYPES_BY_ROLE[role],
    handler: createAgentTaskHandler(deps, role),
    signal: stop.signal,
    idleWaitMs: 100,
  });
  try {
    await waitFor(
      `task ${taskId} to settle`,
      async () => (await settleEvents(deps.queue.handle.db, taskId)).length > 0,
    );
  } finally {
    stop.abort();
    await loop;
  }
  return deps.queue.get(taskId);
}

function expectNoSecrets(report: EscapeReport) {
  for (const name of Object.keys(PARENT_SECRETS)) expect(report.env).not.toHaveProperty(name);
  const everything = JSON.stringify(report);
  for (const value of [...Object.values(PARENT_SECRETS), PLANTED_SECRET]) expect(everything).not.toContain(value);
}

describe.each(ONE_DIALECT)('%s: agent sessions in the sandbox', (dialect) => {
  const t = useTestDatabase(dialect);

  it('with sandbox.mode bubblewrap a fake claude CLI session cannot write outside its worktree, read secrets, or see the parent env secrets', async () => {
    const root = scratchRoot();
    const repo = makeGitRepo(root);
    const repoId = await registerRepo(t.handle.db, { name: 'shop', location: repo.path });
    const dataDir = path.join(root, 'data');
    const home = path.join(root, 'home');
    const secretFile = path.join(dataDir, 'secrets', 'api-key.txt');
    const sshKey = path.join(home, '.ssh', 'id_ed25519');
    const writeTargets = [
      path.join(repo.path, 'ESCAPED.txt'), // the repository's main checkout
      path.join(repo.path, '.git', 'ESCAPED'), // its git directory (refs, objects, hooks)
      '/etc/autodev-escape-test',
      path.join(home, 'ESCAPED.txt'),
      path.join(dataDir, 'ESCAPED.txt'),
    ];
    const { queue, deps } = makeRuntime(t, root, {
      claude: {
        scenario: 'escape',
        recording: 'stream-json-tool-success.jsonl',
        escapeWrite: writeTargets,
        escapeRead: [secretFile, path.join(dataDir, 'autodev.db'), sshKey],
        submit: {
          status: 'done',
          summary: 'Tried to leave the sandbox.',
          branch: '{{branch}}',
          commits: [{ sha: '0000000', message: 'escape attempt' }],
          files_changed: ['escape-report.json'],
        },
      },
    });
    fs.mkdirSync(path.dirname(secretFile), { recursive: true });
    fs.writeFileSync(secretFile, `${PLANTED_SECRET}\n`);
    fs.writeFileSync(path.join(dataDir, 'autodev.db'), `SQLite format 3 ${PLANTED_SECRET}\n`);
    fs.writeFileSync(sshKey, `-----BEGIN OPENSSH PRIVATE KEY----- ${PLANTED_SECRET}\n`);
    const task = await queue.enqueue({
      type: 'implement_feature',
      payload: { title: 'Escape' },
      repoId,
      createdBy: 't',
    });

    const done = await runOnce(deps, 'builder', task.id);
    expect(done.status).toBe('completed');
    const branch = `autodev/${task.id}-escape`;
    // The session's own worktree was writable: its report was committed on the task branch.
    const report = JSON.parse(gitIn(repo.path, 'show', `${branch}:escape-report.json`)) as EscapeReport;

    // Every write outside the worktree failed inside, and nothing appeared outside.
    expect(report.writes.map((w) => [w.path, w.ok])).toEqual(writeTargets.map((target) => [target, false]));
    for (const write of report.writes) expect(write.error).toMatch(/^EROFS/);
    for (const target of writeTargets) expect(fs.existsSync(target), target).toBe(false);
    expect(gitIn(repo.path, 'status', '--porcelain')).toBe('');
    expect(gitIn(repo.path, 'rev-parse', 'refs/heads/main')).toBe(repo.initialCommit);

    // The data dir (database, secrets) and the home's credential stores were hidden.
    expect(report.reads.map((r) => [r.ok, r.content])).toEqual([
      [false, undefined],
      [false, undefined],
      [false, undefined],
    ]);
    for (const read of report.reads) expect(read.error).toMatch(/^ENOENT/);

    // The environment was scrubbed: the CLI's own key only, none of the runner's secrets.
    expect(report.env.ANTHROPIC_API_KEY).toBe(ANTHROPIC_API_KEY);
    // The CLI ran with a home of its own in the session dir, never the operator's (~/.claude stays untouched).
    const [session] = await t.handle.db.selectFrom('sessions').select('id').where('task_id', '=', task.id).execute();
    expect(report.env.HOME).toBe(path.join(dataDir, 'sessions', String(session!.id), 'home'));
    expectNoSecrets(report);
  });

  it("a reviewer's checkout is read-only in the sandbox: its writes fail and nothing is committed", async () => {
    const root = scratchRoot();
    const repo = makeGitRepo(root);
    const repoId = await registerRepo(t.handle.db, { name: 'shop', location: repo.path });
    const dataDir = path.join(root, 'data');
    const { queue, deps } = makeRuntime(t, root, {
      claude: {
        scenario: 'escape',
        recording: 'stream-json-tool-success.jsonl',
        escapeReport: 'escape-report.json',
        // Relative: inside the session's working directory, the read-only checkout.
        escapeWrite: ['README.md', 'new-file.txt'],
        escapeRead: [],
        submit: { status: 'done', summary: 'Reviewed.', verdict: 'approve', findings: [] },
      },
    });
    const task = await queue.enqueue({ type: 'review_mr', payload: { title: 'Review' }, repoId, createdBy: 't' });
    const checkout = path.join(dataDir, 'worktrees', 'shop', `task-${task.id}`);
    const done = await runOnce(deps, 'reviewer', task.id);
    expect(done).toMatchObject({ status: 'completed', result: { verdict: 'approve', provider: 'claude' } });
    expect(done.result).not.toHaveProperty('branch');

    const [session] = await t.handle.db.selectFrom('sessions').select('id').where('task_id', '=', task.id).execute();
    const report = JSON.parse(
      fs.readFileSync(path.join(dataDir, 'sessions', String(session!.id), 'escape-report.json'), 'utf8'),
    ) as EscapeReport;
    expect(report.writes.map((w) => [w.path, w.ok])).toEqual([
      [path.join(checkout, 'README.md'), false],
      [path.join(checkout, 'new-file.txt'), false],
    ]);
    for (const write of report.writes) expect(write.error).toMatch(/^EROFS/);
    expect(fs.readFileSync(path.join(checkout, 'README.md'), 'utf8')).toBe('# sample\n');
    expect(fs.existsSync(path.join(checkout, 'new-file.txt'))).toBe(false);
    expect(gitIn(checkout, 'rev-parse', 'HEAD')).toBe(repo.initialCommit);
    expect(gitIn(checkout, 'status', '--porcelain')).toBe('');
    expect(gitIn(repo.path, 'for-each-ref', '--format=%(refname)', 'refs/heads/autodev/')).toBe('');
    expectNoSecrets(report);
  });

  it('sandbox.mode none as root is refused with what to do, and nothing runs', async () => {
    const root = scratchRoot();
    const { queue, deps, dataDir } = makeRuntime(t, root, {
      overrides: { sandbox: { mode: 'none' } },
      claude: { scenario: 'escape', recording: 'stream-json-tool-success.jsonl', escapeWrite: [], escapeRead: [] },
    });
    const task = await queue.enqueue({ type: 'static_analysis', payload: {}, createdBy: 'test' });
    const after = await runOnce({ ...deps, uid: 0 }, 'bug_finder', task.id);
    expect(after.error).toMatch(/will not run unsandboxed as root.*apt-get install bubblewrap.*unprivileged user/);
    expect(fs.existsSync(path.join(dataDir, 'scratch', `task-${task.id}`, 'escape-report.json'))).toBe(false);
  });

  it('sandbox.mode none (not root) runs the session unsandboxed, environment still scrubbed, and logs the UNSANDBOXED warning', async () => {
    const root = scratchRoot();
    const made = makeRuntime(t, root, {
      overrides: { sandbox: { mode: 'none' } },
      claude: {
        scenario: 'escape',
        recording: 'stream-json-tool-success.jsonl',
        escapeWrite: [],
        escapeRead: [],
        submit: { status: 'done', summary: 'Looked around.', tools_run: ['eslint .'], issues: [] },
      },
    });
    const { queue, dataDir, logs } = made;
    const deps = { ...made.deps, uid: 1000 };
    const task = await queue.enqueue({ type: 'static_analysis', payload: {}, createdBy: 'test' });
    const done = await runOnce(deps, 'bug_finder', task.id);
    expect(done).toMatchObject({ status: 'completed', result: { provider: 'claude' } });

    const warnings = logs.filter((l) => l.level === 40 && l.msg.includes('UNSANDBOXED'));
    expect(warnings).toHaveLength(1);
    const [session] = await t.handle.db.selectFrom('sessions').select('id').where('task_id', '=', task.id).execute();
    const sessionDir = path.join(dataDir, 'sessions', String(session!.id));
    expect(fs.readdirSync(sessionDir).filter((f) => f.endsWith('-sandboxed.sh'))).toEqual([]);
    const report = JSON.parse(
      fs.readFileSync(path.join(dataDir, 'scratch', `task-${task.id}`, 'escape-report.json'), 'utf8'),
    ) as EscapeReport;
    expect(report.env.ANTHROPIC_API_KEY).toBe(ANTHROPIC_API_KEY);
    expectNoSecrets(report);
  });
});
