/**
 * Cost views: `autodev costs --by task|story|role|provider|day [--since]` (in process) and `GET /api/costs` group the
 * sessions' tokens and cost with totals; bad values exit 2 / answer 400. Both databases.
 */
import { describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import type { CostsResponse } from '../../src/domain/costs-schema.js';
import type { Database } from '../../src/store/schema.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';
import { errorOf, useTestServer } from '../server/test-server.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-07T12:00:00Z');

/** Two stories' tasks and five sessions over two days (one of no task). */
async function seed(db: Kysely<Database>) {
  const story = async (title: string) =>
    (
      await db
        .insertInto('workflows')
        .values({
          kind: 'story',
          status: 'running',
          stage: 'implement',
          title,
          body: '',
          repo_id: null,
          state: '{}',
          created_by: 'test',
          created_at: NOW,
          updated_at: NOW,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const task = async (type: string, workflowId: number) =>
    (
      await db
        .insertInto('tasks')
        .values({
          type,
          status: 'completed',
          priority: 5,
          payload: '{}',
          max_attempts: 3,
          run_after: NOW,
          workflow_id: workflowId,
          created_by: 'test',
          created_at: NOW,
          updated_at: NOW,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const login = await story('Login page');
  const search = await story('Search');
  const implement = await task('implement', Number(login));
  const review = await task('review', Number(login));
  const spec = await task('write_spec', Number(search));
  const session = (
    taskId: number | null,
    role: string,
    provider: string,
    tokens: number,
    cost: number,
    at: number,
  ) => ({
    task_id: taskId,
    role,
    provider,
    status: 'succeeded' as const,
    tokens_in: tokens,
    tokens_out: tokens / 10,
    tokens_cache: 0,
    cost_usd: cost,
    started_at: at,
  });
  await db
    .insertInto('sessions')
    .values([
      session(Number(implement), 'builder', 'claude', 1000, 1.5, NOW - 2 * DAY),
      session(Number(implement), 'builder', 'codex', 500, 0.5, NOW),
      session(Number(review), 'reviewer', 'claude', 200, 0.25, NOW),
      session(Number(spec), 'architect', 'claude', 300, 0.75, NOW - 2 * DAY),
      session(null, 'pm', 'claude', 100, 0.125, NOW),
    ])
    .execute();
  return { implement: Number(implement), login: Number(login), search: Number(search) };
}

describe.each(DIALECTS)('%s: autodev costs', (dialect) => {
  const t = useTestDatabase(dialect);
  const costs = async (...args: string[]) => {
    const outcome = await runCliInProcessOn(t, ['costs', ...args, '--json']);
    expect(outcome.code, outcome.stderr).toBe(0);
    return JSON.parse(outcome.stdout) as CostsResponse;
  };

  it('groups by task, story, role, provider and day, with totals', async () => {
    const ids = await seed(t.handle.db);
    const byRole = await costs('--by', 'role');
    expect(byRole.rows.map((r) => [r.key, r.cost_usd])).toEqual([
      ['builder', 2],
      ['architect', 0.75],
      ['reviewer', 0.25],
      ['pm', 0.125],
    ]);
    expect(byRole.totals).toMatchObject({
      sessions: 5,
      tokens_in: 2100,
      tokens_out: 210,
      tokens: 2310,
      cost_usd: 3.125,
    });
    const byTask = await costs('--by', 'task');
    expect(byTask.rows[0]).toMatchObject({ key: String(ids.implement), label: 'implement', sessions: 2, cost_usd: 2 });
    expect(byTask.rows.at(-1)).toMatchObject({ key: null, label: 'no task' });
    const byStory = await costs('--by', 'story');
    expect(byStory.rows.map((r) => [r.key, r.label, r.cost_usd])).toEqual([
      [String(ids.login), 'Login page', 2.25],
      [String(ids.search), 'Search', 0.75],
      [null, 'no story', 0.125],
    ]);
    expect((await costs('--by', 'provider')).rows.map((r) => [r.key, r.sessions])).toEqual([
      ['claude', 4],
      ['codex', 1],
    ]);
    expect((await costs('--by', 'day')).rows.map((r) => [r.key, r.cost_usd])).toEqual([
      ['2026-12-05', 2.25],
      ['2026-12-07', 0.875],
    ]);
    const recent = await costs('--by', 'day', '--since', '2026-12-06T00:00:00Z');
    expect(recent.rows.map((r) => r.key)).toEqual(['2026-12-07']);
    expect(recent.totals.sessions).toBe(3);
    const text = await runCliInProcessOn(t, ['costs', '--by', 'provider']);
    expect(text.stdout).toMatch(/^provider\s+sessions\s+tokens\s+cost$/m);
    expect(text.stdout).toMatch(/^claude\s+4\s+1760\s+\$2\.63$/m);
    expect(text.stdout).toMatch(/^total\s+5\s+2310\s+\$3\.13$/m);
  });

  it.each([
    [['--by', 'week'], /--by must be one of task, story, role, provider, day/],
    [['--since', 'last tuesday'], /--since must be a span back from now/],
  ])('%j: exit 2, one line', async (args, message) => {
    const outcome = await runCliInProcessOn(t, ['costs', ...args]);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
    expect(outcome.stderr).toMatch(message);
    expect(outcome.stdout).toBe('');
  });
});

describe.each(DIALECTS)('%s: GET /api/costs', (dialect) => {
  const s = useTestServer(dialect);

  it('answers the same groups as the CLI; a bad grouping is a 400', async () => {
    await seed(s.db.handle.db);
    const response = await s.request({ method: 'GET', url: '/api/costs?by=provider', token: s.tokens.viewer });
    expect(response.statusCode).toBe(200);
    const body = response.json() as CostsResponse;
    expect(body.by).toBe('provider');
    expect(body.rows.map((r) => r.key)).toEqual(['claude', 'codex']);
    expect(body.totals.cost_usd).toBe(3.125);
    const bad = await s.request({ method: 'GET', url: '/api/costs?by=week' });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).message).toMatch(/by must be one of/);
  });
});
