/**
 * @module Helpers for the `autodev demo` tests: run the BUILT CLI (`npx tsc -p tsconfig.build.json` first) with a
 * clean environment and a timeout long enough for the whole story, read the demo's output lines, and read back what
 * the demo left in the database and the sample repository.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import type { Kysely } from 'kysely';
import { AUTODEV_BIN } from '../support/built-cli.js';
import { execFileInGroup, killGroup, spawnInGroup } from '../support/child-processes.js';
import type { TestDatabase } from '../support/dialects.js';
import type { Database } from '../../src/store/schema.js';

export interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
}

/** The environment a user would have: no DATABASE_URL or AUTODEV_* of the developer's; PostgreSQL when `t` is. */
export function demoEnv(t: TestDatabase): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  delete env.LOG_LEVEL;
  for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
  if (t.databaseUrl) env.DATABASE_URL = t.databaseUrl;
  return env;
}

/** `autodev --data-dir <dataDir> demo ...args` to the end. */
export function runDemoCli(
  t: TestDatabase,
  dataDir: string,
  args: readonly string[] = ['--replay-delay', '0'],
  timeoutMs = 120_000,
): Promise<DemoRun> {
  return execFileInGroup(process.execPath, [AUTODEV_BIN, '--data-dir', dataDir, 'demo', ...args], {
    env: demoEnv(t),
    cwd: t.dir,
    timeout: timeoutMs,
  }).then((outcome) => ({ ...outcome, lines: outcome.stdout.split('\n') }));
}

/** Starts the demo and resolves once a stdout line matches `until`; the caller signals and awaits `exited`. */
export function startDemoCli(
  t: TestDatabase,
  dataDir: string,
  until: RegExp,
  args: readonly string[],
): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  const child = spawnInGroup(process.execPath, [AUTODEV_BIN, '--data-dir', dataDir, 'demo', ...args], {
    env: demoEnv(t),
    cwd: t.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child);
      reject(new Error(`no line matching ${String(until)} within 60 s; stdout:\n${stdout}\nstderr:\n${stderr}`));
    }, 60_000);
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (until.test(stdout)) {
        clearTimeout(timer);
        resolve({ child, output: () => stdout, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${String(code)}) before ${String(until)}; stdout:\n${stdout}\n${stderr}`));
    });
  });
}

/** `git -C repo ...args`, trimmed. */
export function gitIn(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
}

/** Runs the sample repository's tests in its main checkout; returns the exit code and the TAP summary counts. */
export function runSampleTests(repo: string): { code: number; pass: number; fail: number } {
  let output: string;
  let code = 0;
  try {
    output = execFileSync(process.execPath, ['--test'], { cwd: repo, encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    const failed = error as { status: number; stdout: string };
    code = failed.status;
    output = failed.stdout;
  }
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(output)?.[1] ?? NaN);
  return { code, pass: count('pass'), fail: count('fail') };
}

/** Everything the demo's workflow `id` did, as the summary should report it. */
export async function storyFigures(db: Kysely<Database>, workflowId: number) {
  const tasks = await db.selectFrom('tasks').selectAll().where('workflow_id', '=', workflowId).orderBy('id').execute();
  const sessions = await db
    .selectFrom('sessions')
    .selectAll()
    .where(
      'task_id',
      'in',
      tasks.map((t) => t.id),
    )
    .execute();
  return {
    tasks,
    sessions,
    tokensIn: sessions.reduce((sum, s) => sum + s.tokens_in, 0),
    tokensOut: sessions.reduce((sum, s) => sum + s.tokens_out, 0),
    costUsd: sessions.reduce((sum, s) => sum + Number(s.cost_usd), 0),
  };
}

/** The text `pattern`'s first group matches in the demo's output (a test failure showing the output when none). */
export function outputField(run: DemoRun, pattern: RegExp): string {
  const match = pattern.exec(run.stdout);
  if (!match?.[1]) throw new Error(`no ${String(pattern)} in the demo's output:\n${run.stdout}\n${run.stderr}`);
  return match[1];
}

/** The figures the demo's closing summary prints, for comparing with `storyFigures`. */
export function summaryFigures(run: DemoRun) {
  const number = (pattern: RegExp) => Number(outputField(run, pattern).replaceAll(',', ''));
  return {
    tasks: number(/^ {2}tasks: +(\d+):/m),
    sessions: number(/^ {2}sessions: +(\d+) recorded sessions on the real Claude Code CLI/m),
    tokensIn: number(/^ {2}tokens: +([\d,]+) in/m),
    tokensOut: number(/^ {2}tokens: +[\d,]+ in \/ ([\d,]+) out/m),
    cost: outputField(run, /^ {2}cost: +\$([\d.]+)/m),
  };
}

/** What `summaryFigures` should read for the story: the database's counts and sums. */
export function expectedSummary(figures: Awaited<ReturnType<typeof storyFigures>>) {
  return {
    tasks: figures.tasks.length,
    sessions: figures.sessions.length,
    tokensIn: figures.tokensIn,
    tokensOut: figures.tokensOut,
    cost: figures.costUsd.toFixed(4),
  };
}

/** The lines of stdout that start a stage (`▶ stage ...`), without the prefix. */
export function stageLines(lines: readonly string[]): string[] {
  return lines.filter((l) => l.startsWith('▶ stage ')).map((l) => l.slice('▶ stage '.length));
}
