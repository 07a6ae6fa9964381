/**
 * @module The parts of an agent session's overhead, each alone, for the session-overhead benchmark: bubblewrap
 * around `true` (bare, and with a session's own mounts), the CLIs' `--version` start (plain and sandboxed), the CLI
 * start split by variant (`cli-start-split.ts`), the `autodev mcp` handshake and its first tool answer, the task
 * clone (`git clone --shared` and the runtime's whole `prepareWorktree`) and the in-sandbox save (`commitWip`). Every sandbox is built by the same
 * functions the runtime uses (`writeSandboxedCli`, `hiddenPathsFor`, `saveOptionsFor`).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { bundledCliPath, writeSandboxedCli, type CliProvider } from '../src/agents/agent-cli.js';
import { hiddenPathsFor, saveOptionsFor } from '../src/agents/sandbox-policy.js';
import { findPackageRoot } from '../src/config/package-root.js';
import { SettingsSchema } from '../src/config/settings-schema.js';
import { mcpServerSpec } from '../src/mcp/run-mcp-stdio.js';
import { writeSessionContext } from '../src/mcp/session-files.js';
import { commitWip, prepareWorktree, sandboxPathsFor, type Worktree } from '../src/workspace/worktrees.js';
import { autodevCliEntry, gitIn, makeGitRepo } from '../test/support/agent-fixtures.js';
import { preciseNow, progress } from './bench-report.js';
import { measureCliStartSplit } from './cli-start-split.js';
import { cpuMsSoFar } from './session-timing.js';

export interface BareCost {
  name: string;
  /** What was run, shortened for the table. */
  command: string;
  samples: number[];
  /**
   * CPU ms per run: this process and its reaped children (`cpuMsSoFar`). Not kept for commands in bubblewrap, whose
   * processes' CPU does not reach this process's counters.
   */
  cpu?: number[];
}

interface Spawned {
  ms: number;
  code: number | null;
  output: string;
}

/** Runs a command to its exit; the time is from spawn to exit. Fails on a non-zero exit. */
function timeSpawn(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<Spawned>((resolve, reject) => {
    const start = preciseNow();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = preciseNow() - start;
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${output.slice(-500)}`));
      else resolve({ ms, code, output });
    });
  });
}

/** Runs `once` after a warm-up, `runs` times; CPU is kept only when `countCpu` (no bubblewrap: see BareCost.cpu). */
async function repeat(
  runs: number,
  name: string,
  command: string,
  once: () => Promise<number>,
  countCpu = true,
): Promise<BareCost> {
  progress(`bare cost: ${name}`);
  await once(); // warm-up: page cache, first-run files
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const before = cpuMsSoFar();
    samples.push(await once());
    cpu.push(cpuMsSoFar() - before);
  }
  return countCpu ? { name, command, samples, cpu } : { name, command, samples };
}

/** A builder-like setup: a repository, a data dir, a task clone made by the runtime's function, a session dir. */
export async function sessionLikeSetup(root: string) {
  const repo = makeGitRepo(root, 'repo');
  const dataDir = path.join(root, 'data');
  const home = path.join(root, 'home');
  fs.mkdirSync(home, { recursive: true });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home };
  const settings = SettingsSchema.parse({ sandbox: { mode: 'bubblewrap' } });
  const deps = { env, dataDir, settings };
  const sessionDir = path.join(dataDir, 'sessions', '1');
  await writeSessionContext(sessionDir, {
    task: { id: 1, type: 'implement_feature', priority: 5, payload: { title: 'CSV export' }, attempts: 1 },
    role: 'builder',
    parent_results: [],
    instructions: [],
    result_schema: {},
  });
  return { repo, dataDir, deps, sessionDir, baseDir: path.join(dataDir, 'worktrees', 'repo') };
}

/** The sandbox wrapper a session of `cliPath` gets (the runtime's `sessionExecutable`, for a builder's clone). */
function sessionWrapper(
  setup: Awaited<ReturnType<typeof sessionLikeSetup>>,
  worktree: Worktree,
  cliPath: string,
  name: string,
) {
  const paths = sandboxPathsFor(worktree);
  return writeSandboxedCli({
    wrapperPath: path.join(setup.sessionDir, `${name}-sandboxed.sh`),
    cliPath,
    cwd: worktree.path,
    writablePaths: [...paths.writablePaths, setup.sessionDir],
    readOnlyPaths: [...paths.readOnlyPaths, findPackageRoot(), path.dirname(cliPath)],
    hiddenPaths: hiddenPathsFor(setup.deps),
  });
}

/** Times an MCP client's handshake with `autodev mcp` (initialize) and then its first tool answer (read_task). */
async function mcpHandshake(sessionDir: string): Promise<{ initialize: number; firstTool: number }> {
  const spec = mcpServerSpec({ nodePath: process.execPath, cliEntry: autodevCliEntry(), sessionDir });
  const client = new Client({ name: 'bench', version: '1' });
  const transport = new StdioClientTransport({
    command: spec.command,
    args: spec.args,
    env: { PATH: process.env.PATH ?? '' },
    stderr: 'ignore',
  });
  const start = preciseNow();
  await client.connect(transport);
  const initialize = preciseNow() - start;
  const answer = await client.callTool({ name: 'read_task', arguments: {} });
  const firstTool = preciseNow() - start;
  await client.close();
  if (answer.isError) throw new Error(`read_task failed: ${JSON.stringify(answer.content)}`);
  return { initialize, firstTool };
}

export async function measureBareCosts(runs: number, providers: readonly CliProvider[]): Promise<BareCost[]> {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-bench-bare-')));
  const costs: BareCost[] = [];
  const claude = bundledCliPath('claude');
  const codex = bundledCliPath('codex');
  try {
    const setup = await sessionLikeSetup(root);
    const worktree = await prepareWorktree({
      repoPath: setup.repo.path,
      baseDir: setup.baseDir,
      taskId: 1,
      title: 'CSV export',
      baseBranch: 'main',
    });
    const wrappers = {
      true: await sessionWrapper(setup, worktree, '/usr/bin/true', 'true'),
      claude: await sessionWrapper(setup, worktree, claude, 'claude'),
      codex: await sessionWrapper(setup, worktree, codex, 'codex'),
    };
    const ms = async (p: Promise<Spawned>) => (await p).ms;
    costs.push(await repeat(runs, 'node start', 'node -e 0', () => ms(timeSpawn(process.execPath, ['-e', '0']))));
    costs.push(
      await repeat(
        runs,
        'bwrap, bare',
        'bwrap --unshare-all --ro-bind / / --dev /dev --proc /proc -- true',
        () =>
          ms(
            timeSpawn('bwrap', [
              '--unshare-all',
              '--ro-bind',
              '/',
              '/',
              '--dev',
              '/dev',
              '--proc',
              '/proc',
              '--',
              'true',
            ]),
          ),
        false,
      ),
    );
    costs.push(
      await repeat(
        runs,
        "bwrap, a session's mounts",
        'writeSandboxedCli(true) wrapper',
        () => ms(timeSpawn(wrappers.true, [])),
        false,
      ),
    );
    costs.push(await repeat(runs, 'claude --version', 'claude --version', () => ms(timeSpawn(claude, ['--version']))));
    costs.push(
      await repeat(
        runs,
        'claude --version, sandboxed',
        'session wrapper --version',
        () => ms(timeSpawn(wrappers.claude, ['--version'])),
        false,
      ),
    );
    costs.push(
      await repeat(runs, 'codex --version', 'node codex.js --version', () =>
        ms(timeSpawn(process.execPath, [codex, '--version'])),
      ),
    );
    costs.push(
      await repeat(
        runs,
        'codex --version, sandboxed',
        'session wrapper --version',
        () => ms(timeSpawn(wrappers.codex, ['--version'])),
        false,
      ),
    );

    costs.push(...(await measureCliStartSplit(providers, runs, root, setup.sessionDir, setup.deps)));

    const initialize: number[] = [];
    const firstTool: number[] = [];
    progress('bare cost: autodev mcp handshake');
    await mcpHandshake(setup.sessionDir);
    for (let i = 0; i < runs; i++) {
      const run = await mcpHandshake(setup.sessionDir);
      initialize.push(run.initialize);
      firstTool.push(run.firstTool);
    }
    const mcpLine = 'node autodev.js mcp --session-dir D (MCP SDK client)';
    costs.push({ name: 'autodev mcp: spawn to initialize answered', command: mcpLine, samples: initialize });
    costs.push({
      name: 'autodev mcp: spawn to first tool answer',
      command: `${mcpLine}, read_task`,
      samples: firstTool,
    });
    costs.push(
      await repeat(runs, 'autodev --version', 'node autodev.js --version', () =>
        ms(timeSpawn(process.execPath, [autodevCliEntry(), '--version'])),
      ),
    );

    let n = 0;
    costs.push(
      await repeat(
        runs,
        'git clone --shared + checkout',
        'clone --shared --no-checkout --no-tags; checkout -b',
        async () => {
          const target = path.join(root, `clone-${++n}`);
          const start = preciseNow();
          await timeSpawn('git', [
            'clone',
            '--quiet',
            '--shared',
            '--no-checkout',
            '--no-tags',
            setup.repo.path,
            target,
          ]);
          await timeSpawn('git', ['-C', target, 'checkout', '--quiet', '-b', `b${n}`, 'main']);
          return preciseNow() - start;
        },
      ),
    );
    let taskId = 100;
    const fresh = async () =>
      prepareWorktree({
        repoPath: setup.repo.path,
        baseDir: setup.baseDir,
        taskId: ++taskId,
        title: 'CSV export',
        baseBranch: 'main',
      });
    costs.push(
      await repeat(runs, 'prepareWorktree (task clone)', "the runtime's whole clone prep", async () => {
        const start = preciseNow();
        await fresh();
        return preciseNow() - start;
      }),
    );
    const save = saveOptionsFor(setup.deps);
    const saveAfter = async (agentCommits: boolean) => {
      const clone = await fresh();
      fs.mkdirSync(path.join(clone.path, 'src'), { recursive: true });
      fs.writeFileSync(path.join(clone.path, 'src', 'export.js'), 'export const x = 1;\n');
      if (agentCommits) {
        gitIn(clone.path, 'add', '-A');
        gitIn(clone.path, '-c', 'user.name=A', '-c', 'user.email=a@localhost', 'commit', '-q', '-m', 'feat: x');
      }
      const start = preciseNow();
      const wip = await commitWip(clone, 'WIP: bench', save);
      const elapsed = preciseNow() - start;
      if (wip.committed === agentCommits)
        throw new Error(`commitWip committed=${wip.committed}, agent committed=${agentCommits}`);
      return elapsed;
    };
    costs.push(
      await repeat(
        runs,
        'commitWip, agent committed (builder)',
        'sandboxed save: bundle + fetch + update-ref',
        () => saveAfter(true),
        false,
      ),
    );
    costs.push(
      await repeat(
        runs,
        'commitWip, work uncommitted',
        'sandboxed save: add + commit + bundle + fetch',
        () => saveAfter(false),
        false,
      ),
    );
    return costs;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
