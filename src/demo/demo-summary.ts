/**
 * @module The demo's closing numbers, read from the database (tasks by type and status, sessions, tokens, cost) and
 * from git (the merge commit, `git log --oneline -3` of the default branch), plus the sample repository's test
 * command run on the default branch the way the test gate runs it. `formatSummary` turns them into the lines printed.
 */
import type { Kysely } from 'kysely';
import type { RepositoryRow } from '../forge/repositories.js';
import { runTestGate, type TestGateResult } from '../gates/test-gate.js';
import type { Database } from '../store/schema.js';
import { gitOutput } from '../workspace/git.js';
import type { SandboxMode } from '../workspace/sandbox.js';
import type { StepFailure } from './scripted-agent.js';

export interface DemoSummary {
  workflowId: number;
  /** `type -> status -> count`, types in the order they first ran. */
  tasks: { type: string; status: string; count: number }[];
  taskTotal: number;
  sessions: { total: number; byStatus: Record<string, number>; providers: string[]; models: string[] };
  tokensIn: number;
  tokensOut: number;
  tokensCache: number;
  costUsd: number;
  mergeSha: string | null;
  mergeRequestId: number | null;
  logLines: string[];
}

export async function readDemoSummary(
  db: Kysely<Database>,
  workflowId: number,
  repo: RepositoryRow,
): Promise<DemoSummary> {
  const tasks = await db
    .selectFrom('tasks')
    .select(['id', 'type', 'status'])
    .where('workflow_id', '=', workflowId)
    .orderBy('id')
    .execute();
  const grouped = new Map<string, { type: string; status: string; count: number }>();
  for (const task of tasks) {
    const key = `${task.type}\u0000${task.status}`;
    const entry = grouped.get(key) ?? { type: task.type, status: task.status, count: 0 };
    entry.count += 1;
    grouped.set(key, entry);
  }
  const ids = tasks.map((t) => t.id);
  const sessions =
    ids.length === 0
      ? []
      : await db
          .selectFrom('sessions')
          .select(['status', 'provider', 'model', 'tokens_in', 'tokens_out', 'tokens_cache', 'cost_usd'])
          .where('task_id', 'in', ids)
          .execute();
  const byStatus: Record<string, number> = {};
  for (const s of sessions) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
  const mr = await db
    .selectFrom('merge_requests')
    .select(['id', 'merge_sha'])
    .where('workflow_id', '=', workflowId)
    .where('status', '=', 'merged')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  const log = await gitOutput(repo.location, ['log', '--oneline', '-3', repo.default_branch]);
  return {
    workflowId,
    tasks: [...grouped.values()],
    taskTotal: tasks.length,
    sessions: {
      total: sessions.length,
      byStatus,
      providers: [...new Set(sessions.map((s) => s.provider))],
      models: [...new Set(sessions.map((s) => s.model).filter((m): m is string => typeof m === 'string'))],
    },
    tokensIn: sum(sessions.map((s) => s.tokens_in)),
    tokensOut: sum(sessions.map((s) => s.tokens_out)),
    tokensCache: sum(sessions.map((s) => s.tokens_cache)),
    costUsd: sum(sessions.map((s) => Number(s.cost_usd))),
    mergeSha: mr?.merge_sha ?? null,
    mergeRequestId: mr?.id ?? null,
    logLines: log.split('\n').filter(Boolean),
  };
}

/** The repository's test command on its default branch, in a throwaway checkout, sandboxed like the test gate. */
export function testDefaultBranch(
  repo: RepositoryRow,
  options: { mode: SandboxMode; env: Readonly<Record<string, string | undefined>>; hiddenPaths: string[] },
): Promise<TestGateResult> {
  return runTestGate({
    repoPath: repo.location,
    ref: repo.default_branch,
    command: repo.test_command ?? 'node --test',
    mode: options.mode,
    timeoutMs: 120_000,
    env: options.env,
    hiddenPaths: options.hiddenPaths,
  });
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

const number = (n: number) => n.toLocaleString('en-US');

export function formatSummary(
  summary: DemoSummary,
  extra: {
    wallMs: number;
    repo: RepositoryRow;
    tests: TestGateResult;
    testsBefore: number;
    /** Where a real tool result disagreed with the recorded one. */
    mismatches: readonly StepFailure[];
  },
): string[] {
  const lines: string[] = [];
  const byStatus = Object.entries(summary.sessions.byStatus)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
  lines.push(`Summary of story #${summary.workflowId}`);
  lines.push(
    `  tasks:     ${summary.taskTotal}: ${summary.tasks.map((t) => `${t.type} ${t.count} ${t.status}`).join(', ')}`,
  );
  const models = summary.sessions.models.join(', ') || '-';
  lines.push(
    `  sessions:  ${summary.sessions.total} recorded sessions on the real Claude Code CLI in the sandbox ` +
      `(provider ${summary.sessions.providers.join(', ') || '-'}; model ${models} played by Auto-Dev's local stand-in, ` +
      `no model was called): ${byStatus || 'none'}`,
  );
  lines.push(
    `  tokens:    ${number(summary.tokensIn)} in / ${number(summary.tokensOut)} out (${number(summary.tokensCache)} cached), as recorded`,
  );
  lines.push(
    `  cost:      $${summary.costUsd.toFixed(4)}: what Claude Code prices the recorded tokens at (nothing was spent)`,
  );
  lines.push(
    extra.mismatches.length === 0
      ? '  recorded:  every tool call ran for real in the sandbox and agreed with the recording'
      : `  recorded:  ${extra.mismatches.length} tool result(s) differed from the recording (shown as they really were):`,
  );
  for (const m of extra.mismatches)
    lines.push(`    step ${m.step + 1}: ${m.message.replace(/\s+/g, ' ').slice(0, 200)}`);
  lines.push(`  wall time: ${(extra.wallMs / 1000).toFixed(1)} s`);
  lines.push(
    summary.mergeSha
      ? `  merge:     ${summary.mergeSha} on ${extra.repo.default_branch} (merge request #${summary.mergeRequestId ?? '?'})`
      : '  merge:     none',
  );
  lines.push(`  git log --oneline -3 ${extra.repo.default_branch} (${extra.repo.location}):`);
  for (const line of summary.logLines) lines.push(`    ${line}`);
  const counts = extra.tests.counts;
  const numbers = counts
    ? `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`
    : 'no test counts found in its output';
  lines.push(
    `  tests on ${extra.repo.default_branch}: \`${extra.tests.command}\` ${extra.tests.passed ? 'PASSED' : 'FAILED'}: ${numbers} ` +
      `(${extra.testsBefore} before the story)`,
  );
  return lines;
}
