/**
 * @module The claim's query plan: it must walk `tasks_ready_idx` in order and stop at the first ready task, never
 * scan the tasks of a type (done ones included) and sort them. That mistake made every claim cost O(history) on SQLite.
 */
import { CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import { nextReadyTaskQuery } from '../../src/queue/claim-task.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

describe.each(DIALECTS)('%s: claim query plan', (dialect) => {
  const t = useTestDatabase(dialect);

  it('reads tasks_ready_idx in order, without a sort, next to a long history of done tasks', async () => {
    const { db } = t.handle;
    const now = 1_700_000_000_000;
    const row = (i: number, status: 'pending' | 'completed') => ({
      type: i % 3 === 0 ? 'deploy' : 'write_spec',
      status,
      priority: 1 + (i % 10),
      payload: '{}',
      max_attempts: 3,
      run_after: now - i,
      created_by: 'test',
      created_at: now,
      updated_at: now,
    });
    for (let batch = 0; batch < 4; batch++) {
      await db
        .insertInto('tasks')
        .values(
          Array.from({ length: 1_000 }, (_, i) =>
            row(batch * 1_000 + i, batch === 3 && i < 100 ? 'pending' : 'completed'),
          ),
        )
        .execute();
    }
    await db.executeQuery(CompiledQuery.raw('analyze'));

    const query = nextReadyTaskQuery(db, t.handle.dialect, { types: ['deploy', 'review_mr'], now }).compile();
    const explain = dialect === 'sqlite' ? 'explain query plan ' : 'explain ';
    const plan = (
      await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(explain + query.sql, [...query.parameters]))
    ).rows
      .map((r) => String(r.detail ?? r['QUERY PLAN']))
      .join('\n');
    expect(plan).toContain('tasks_ready_idx');
    expect(plan).not.toMatch(/TEMP B-TREE|Sort/);
  });
});
