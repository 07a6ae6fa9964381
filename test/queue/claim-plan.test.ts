/**
 * @module The claim's query plan: it must walk `tasks_ready_idx` in order and stop at the first ready task, never
 * scan the tasks of a type (done ones included) and sort them. That mistake made every claim cost O(history) on SQLite.
 * On PostgreSQL the statements checked are the prepared ones the queue runs, in their custom and generic plans.
 */
import { CompiledQuery, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { nextReadyTaskQuery } from '../../src/queue/claim-task.js';
import { expiredLeasesQuery } from '../../src/queue/reclaim-expired-leases.js';
import { WORKER_STEPS_SQL } from '../../src/queue/postgres-statements.js';
import { SQLITE } from '../../src/store/dialect.js';
import type { Database } from '../../src/store/schema.js';
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

    if (dialect === 'sqlite') {
      const plan = await sqlitePlan(db);
      expect(plan).toContain('tasks_ready_idx');
      expect(plan).not.toMatch(/TEMP B-TREE/);
      return;
    }
    // The prepared worker-steps statement, with a claim-only step and a completing one; prepared statements switch
    // to a generic plan after five runs, and it must read the indexes the same way.
    const params = [[null, 1], ['w', 'v'], [null, '{}'], now, ['deploy', 'review_mr'], now + 1];
    for (const generic of [false, true]) {
      const plan = await postgresPlan(db, WORKER_STEPS_SQL, params, generic);
      expect(plan).toContain('Index Scan using tasks_ready_idx');
      expect(plan).toContain('tasks_pkey');
      expect(plan).not.toMatch(/Sort|Seq Scan on tasks/);
    }
  });

  it('finds expired leases through the partial tasks_lease_idx, not by reading every in-progress or other task', async () => {
    const { db } = t.handle;
    const now = 1_700_000_000_000;
    const rows = Array.from({ length: 2_000 }, (_, i) => {
      const status = i % 20 === 0 ? ('in_progress' as const) : ('completed' as const);
      return {
        type: 'deploy',
        status,
        priority: 5,
        payload: '{}',
        max_attempts: 3,
        run_after: now,
        lease_owner: status === 'in_progress' ? 'w' : null,
        // One in-progress task in ten has an expired lease.
        lease_expires_at: status === 'in_progress' ? now + (i % 200 === 0 ? -1_000 : 60_000) : null,
        created_by: 'test',
        created_at: now,
        updated_at: now,
      };
    });
    await db.insertInto('tasks').values(rows.slice(0, 1_000)).execute();
    await db.insertInto('tasks').values(rows.slice(1_000)).execute();
    await db.executeQuery(CompiledQuery.raw('analyze'));

    const query = expiredLeasesQuery(db, now, 100).compile();
    expect((await db.executeQuery(query)).rows).toHaveLength(10);
    const explain = dialect === 'sqlite' ? 'explain query plan ' : 'explain ';
    const { rows: plan } = await db.executeQuery<{ detail?: string; 'QUERY PLAN'?: string }>(
      CompiledQuery.raw(explain + query.sql, [...query.parameters]),
    );
    const text = plan.map((r) => r.detail ?? r['QUERY PLAN']).join('\n');
    expect(text).toMatch(
      dialect === 'sqlite' ? /USING INDEX tasks_lease_idx \(lease_expires_at<\?\)/ : /tasks_lease_idx/,
    );
    expect(text).not.toMatch(/Seq Scan|^SCAN tasks$/m);
  });
});

async function sqlitePlan(db: Kysely<Database>): Promise<string> {
  const query = nextReadyTaskQuery(db, SQLITE, { types: ['deploy', 'review_mr'], now: 1_700_000_000_000 }).compile();
  const { rows } = await db.executeQuery<{ detail: string }>(
    CompiledQuery.raw('explain query plan ' + query.sql, [...query.parameters]),
  );
  return rows.map((r) => r.detail).join('\n');
}

/** The plan of a PostgreSQL statement as prepared; `generic`: the generic plan a prepared statement switches to. */
async function postgresPlan(db: Kysely<Database>, text: string, params: unknown[], generic = false): Promise<string> {
  return db.connection().execute(async (conn) => {
    await conn.executeQuery(CompiledQuery.raw(`set plan_cache_mode = ${generic ? 'force_generic_plan' : 'auto'}`));
    await conn.executeQuery(CompiledQuery.raw(`prepare plan_probe as ${text}`));
    try {
      // Arrays as untyped literals ('{1,NULL}'), which take the type of their parameter.
      const literal = (v: unknown): string =>
        Array.isArray(v)
          ? `'{${v.map((x) => (x === null ? 'NULL' : JSON.stringify(String(x)))).join(',')}}'`
          : typeof v === 'string'
            ? `'${v}'`
            : String(v);
      const { rows } = await conn.executeQuery<{ 'QUERY PLAN': string }>(
        CompiledQuery.raw(`explain execute plan_probe(${params.map(literal).join(', ')})`),
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    } finally {
      await conn.executeQuery(CompiledQuery.raw('deallocate plan_probe'));
      await conn.executeQuery(CompiledQuery.raw('reset plan_cache_mode'));
    }
  });
}
