/**
 * @module The plans of the task list's filters and the status counts on a table shaped like a long-running install:
 * a bulk of completed tasks and a few hundred in every other status. On PostgreSQL migration 0006 dropped the full
 * `(status, id)` index (every claim and completion paid an insert into it); each status filter must still read a
 * small part of the table: `pending` and `in_progress` through their partial indexes, `failed` / `cancelled` through
 * `tasks_rare_status_idx`, `completed` (the bulk) and the newest work by walking the primary key newest-first. A rare type is found
 * through `tasks_type_id_idx`. Checked with EXPLAIN ANALYZE (rows actually read), not only the plan's shape.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../src/domain/roles.js';
import {
  countTasksByStatus,
  countTasksQuery,
  listTasks,
  listTasksQuery,
  type TaskFilter,
} from '../../src/queue/read-tasks.js';
import type { Database } from '../../src/store/schema.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

const NOW = 1_700_000_000_000;
const COMPLETED = 50_000;
/** The other statuses: failed and cancelled spread through the history, pending and in progress the newest. */
const OTHERS: Record<Exclude<TaskStatus, 'completed'>, number> = {
  pending: 300,
  in_progress: 80,
  failed: 200,
  cancelled: 100,
};
const RARE_TYPE = 'deploy';
const RARE_TYPE_COUNT = 30;

async function fill(db: Kysely<Database>): Promise<void> {
  // Finished tasks first, failed and cancelled ones spread evenly through the completed bulk; then the live work,
  // newest (as queued work is): in progress, then pending.
  const spread: TaskStatus[] = [];
  for (const status of ['failed', 'cancelled'] as const) {
    for (let i = 0; i < OTHERS[status]; i++) spread.push(status);
  }
  const finished = COMPLETED + spread.length;
  const step = Math.floor(finished / spread.length);
  const statuses: TaskStatus[] = Array.from({ length: finished }, (_, i) =>
    i % step === 0 && i / step < spread.length ? spread[i / step]! : 'completed',
  );
  for (const status of ['in_progress', 'pending'] as const) {
    for (let i = 0; i < OTHERS[status]; i++) statuses.push(status);
  }
  const rareStep = Math.floor(statuses.length / RARE_TYPE_COUNT);
  const rows = statuses.map((status, i) => ({
    type: i % rareStep === rareStep - 1 ? RARE_TYPE : i % 2 === 0 ? 'write_spec' : 'write_code',
    status,
    priority: 1 + (i % 10),
    payload: '{}',
    max_attempts: 3,
    run_after: NOW - i,
    lease_owner: status === 'in_progress' ? 'w' : null,
    lease_expires_at: status === 'in_progress' ? NOW + 60_000 : null,
    created_by: 'test',
    created_at: NOW,
    updated_at: NOW,
  }));
  for (let at = 0; at < rows.length; at += 1_000) {
    await db
      .insertInto('tasks')
      .values(rows.slice(at, at + 1_000))
      .execute();
  }
  await db.executeQuery(CompiledQuery.raw('analyze'));
}

describe.each(DIALECTS)('%s: task list and count plans', (dialect) => {
  const t = useTestDatabase(dialect);

  it('filters by status and type through small index reads next to 50,000 completed tasks', async () => {
    const { db } = t.handle;
    await fill(db);

    const counts = await countTasksByStatus(db);
    expect(counts).toEqual({ completed: COMPLETED, ...OTHERS });

    for (const status of ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const) {
      const page = await listTasks(db, { status, limit: 50 });
      expect(page.tasks).toHaveLength(50);
      expect(page.tasks.every((task) => task.status === status)).toBe(true);
      const ids = page.tasks.map((task) => task.id);
      expect(ids).toEqual([...ids].sort((a, b) => b - a));
      // Page 2 through the cursor reads the same way.
      const next = await listTasks(db, { status, limit: 50, cursor: page.nextCursor! });
      expect(next.tasks[0]!.id).toBeLessThan(ids.at(-1)!);
    }
    const rare = await listTasks(db, { type: RARE_TYPE, limit: 50 });
    expect(rare.tasks).toHaveLength(RARE_TYPE_COUNT);

    if (dialect === 'postgres') {
      const expected: Record<TaskStatus, RegExp> = {
        // The live work is the newest: its partial index, or the primary key newest-first (it stops after a page).
        pending: /tasks_ready_idx|Index Scan Backward using tasks_pkey/,
        in_progress: /tasks_lease_idx|Index Scan Backward using tasks_pkey/,
        failed: /tasks_rare_status_idx/,
        cancelled: /tasks_rare_status_idx/,
        completed: /Index Scan Backward using tasks_pkey/,
      };
      for (const [status, index] of Object.entries(expected) as [TaskStatus, RegExp][]) {
        const plan = await explainAnalyze(db, { status, limit: 50 });
        expect(plan.text, `${status}:\n${plan.text}`).toMatch(index);
        expect(plan.text, `${status}:\n${plan.text}`).not.toMatch(/Seq Scan/);
        // Rows the executor touched: the status's own rows (a few hundred) or, for the completed bulk, about a page.
        expect(plan.rowsRead, `${status}:\n${plan.text}`).toBeLessThan(1_000);
        expect(plan.rowsRead, `${status}:\n${plan.text}`).toBeGreaterThanOrEqual(51);
      }
      const byType = await explainAnalyze(db, { type: RARE_TYPE, limit: 50 });
      expect(byType.text).toMatch(/tasks_type_id_idx/);
      expect(byType.rowsRead, byType.text).toBeLessThan(1_000);
      // The counts: the counter rows (task_counts, a few per status and type), never the tasks.
      const count = await explainQuery(db, countTasksQuery(db).compile());
      expect(count.match(/Scan/g), count).toHaveLength(1);
      expect(count).toMatch(/on task_counts/);
      expect(count).not.toMatch(/on tasks|Nested Loop|SubPlan/);
    }
  });
});

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  'Scan Direction'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** EXPLAIN ANALYZE of one page of `listTasks` (limit 50) with this filter. */
async function explainAnalyze(db: Kysely<Database>, filter: TaskFilter): Promise<{ text: string; rowsRead: number }> {
  const query = listTasksQuery(db, filter, 50).compile();
  const { rows } = await db.executeQuery<{ 'QUERY PLAN': unknown }>(
    CompiledQuery.raw(`explain (analyze, format json) ${query.sql}`, [...query.parameters]),
  );
  const root = (rows[0]!['QUERY PLAN'] as [{ Plan: PlanNode }])[0].Plan;
  return { text: describePlan(root), rowsRead: rowsRead(root) };
}

/** One line per node: `Index Scan Backward using tasks_pkey on tasks`, indented by depth. */
function describePlan(node: PlanNode, depth = 0): string {
  const direction = node['Scan Direction'] === 'Backward' ? ' Backward' : '';
  const using = node['Index Name'] ? ` using ${node['Index Name']}` : '';
  const on = node['Relation Name'] ? ` on ${node['Relation Name']}` : '';
  const line = `${'  '.repeat(depth)}${node['Node Type']}${direction}${using}${on}`;
  return [line, ...(node.Plans ?? []).map((child) => describePlan(child, depth + 1))].join('\n');
}

/** Rows the scans of the plan produced or threw away: what the executor read from the table. */
function rowsRead(node: PlanNode): number {
  const own = /Scan/.test(node['Node Type'])
    ? ((node['Actual Rows'] ?? 0) +
        (node['Rows Removed by Filter'] ?? 0) +
        (node['Rows Removed by Index Recheck'] ?? 0)) *
      (node['Actual Loops'] ?? 1)
    : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsRead(child), 0);
}

async function explainQuery(db: Kysely<Database>, query: CompiledQuery): Promise<string> {
  const { rows } = await db.executeQuery<{ 'QUERY PLAN': string }>(
    CompiledQuery.raw(`explain ${query.sql}`, [...query.parameters]),
  );
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}
