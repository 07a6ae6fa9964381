/**
 * @module The story board and timeline routes on both engines: a real repository and story, a session's cost folded
 * into the card and the timeline, filters, and bad input refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishSession, startSession } from '../../src/agents/session-store.js';
import { advanceWorkflow } from '../../src/workflow/advance-workflow.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { StoryBoardSchema, StoryTimelineSchema } from '../../src/domain/story-board-schema.js';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

describe.each(DIALECTS)('%s: story board routes', (dialect) => {
  const s = useTestServer(dialect);
  let repo: TestRepo;
  beforeAll(async () => {
    repo = await makeRepo();
  });
  afterAll(async () => {
    await repo.cleanup();
  });

  it('shows each story as a card with its column, cost and who it waits for, and its timeline', async () => {
    expect(
      (await s.request({ method: 'POST', url: '/api/repos', payload: { path: repo.repo, name: 'sample' } })).statusCode,
    ).toBe(201);
    const created = await s.request({
      method: 'POST',
      url: '/api/stories',
      payload: { repo: 'sample', title: 'Add sum', body: 'Sum two numbers' },
    });
    const story = created.json() as { id: number };
    const task = await s.db.handle.db
      .selectFrom('tasks')
      .select('id')
      .where('workflow_id', '=', story.id)
      .executeTakeFirstOrThrow();
    const now = Date.now();
    const session = await startSession(s.db.handle.db, {
      taskId: task.id,
      role: 'pm',
      agentInstanceId: null,
      provider: 'claude',
      model: null,
      now,
    });
    await finishSession(s.db.handle.db, session, {
      status: 'succeeded',
      outcome: 'succeeded',
      providerSessionId: null,
      model: null,
      tokensIn: 1000,
      tokensOut: 250,
      tokensCache: 0,
      costUsd: 0.125,
      now,
    });

    const board = await s.request({ method: 'GET', url: '/api/story-board', token: s.tokens.viewer });
    expect(board.statusCode, board.body).toBe(200);
    const parsed = StoryBoardSchema.parse(board.json());
    expect(parsed.repos).toEqual(['sample']);
    expect(parsed.columns[0]).toBe('story');
    expect(parsed.stories).toEqual([
      expect.objectContaining({
        id: story.id,
        title: 'Add sum',
        repo: 'sample',
        column: 'story',
        round: 0,
        gates: { review: null, tests: null, security: null },
        cost_usd: 0.125,
        tokens: 1250,
        waits_for: 'pm',
      }),
    ]);
    expect(parsed.stories[0]!.created_at).toMatch(/Z$/);

    const other = await s.request({ method: 'GET', url: '/api/story-board?repo=other' });
    expect((other.json() as { stories: unknown[] }).stories).toEqual([]);
    const done = await s.request({ method: 'GET', url: '/api/story-board?status=completed' });
    expect((done.json() as { stories: unknown[] }).stories).toEqual([]);
    const running = await s.request({ method: 'GET', url: '/api/story-board?status=running&repo=sample' });
    expect((running.json() as { stories: unknown[] }).stories).toHaveLength(1);

    const timeline = await s.request({ method: 'GET', url: `/api/stories/${story.id}/timeline` });
    expect(timeline.statusCode, timeline.body).toBe(200);
    const life = StoryTimelineSchema.parse(timeline.json());
    expect(life).toMatchObject({ id: story.id, repo: 'sample', column: 'story', body: 'Sum two numbers' });
    expect(life.stages.map((stage) => stage.stage)).toEqual([
      'story',
      'spec',
      'spec_approval',
      'implement',
      'gates',
      'merge_approval',
      'merge',
      'deploy',
      'done',
    ]);
    expect(life.stages[0]!.tasks[0]).toMatchObject({ type: 'create_user_story', role: 'pm' });
    expect(life.stages[0]!.tasks[0]!.sessions[0]).toMatchObject({ id: session, cost_usd: 0.125, tokens: 1250 });
    const tasks = await s.request({
      method: 'GET',
      url: `/api/tasks?story=${story.id}&role=pm`,
      token: s.tokens.viewer,
    });
    expect(tasks.statusCode, tasks.body).toBe(200);
    expect((tasks.json() as { tasks: unknown[] }).tasks).toEqual([
      expect.objectContaining({
        type: 'create_user_story',
        story: { id: story.id, title: 'Add sum' },
        role: 'pm',
        provider: 'claude',
        cost_usd: 0.125,
        tokens: 1250,
        duration_ms: null,
      }),
    ]);
    const noBuilderTasks = await s.request({ method: 'GET', url: `/api/tasks?story=${story.id}&role=builder` });
    expect((noBuilderTasks.json() as { tasks: unknown[] }).tasks).toEqual([]);
    expect((await s.request({ method: 'GET', url: '/api/tasks?role=chef' })).statusCode).toBe(400);
    expect(life.cost).toEqual({
      total_usd: 0.125,
      total_tokens: 1250,
      by_role: [{ role: 'pm', cost_usd: 0.125, tokens: 1250 }],
    });
  });

  it('cancels a story: its open tasks are cancelled, nothing moves it on, a second cancel is refused', async () => {
    await s.db.handle.db
      .insertInto('repositories')
      .values({
        name: 'cancel-repo',
        forge: 'local',
        location: repo.repo,
        default_branch: 'main',
        test_command: null,
        deploy_command: null,
        lint_command: null,
        settings: '{}',
        created_at: Date.now(),
        updated_at: Date.now(),
      })
      .execute();
    const created = await s.request({
      method: 'POST',
      url: '/api/stories',
      payload: { repo: 'cancel-repo', title: 'Not needed' },
    });
    const story = created.json() as { id: number };
    const viewer = await s.request({ method: 'POST', url: `/api/stories/${story.id}/cancel`, token: s.tokens.viewer });
    expect(viewer.statusCode).toBe(403);
    const cancelled = await s.request({
      method: 'POST',
      url: `/api/stories/${story.id}/cancel`,
      token: s.tokens.approver,
      payload: { reason: 'duplicate of #1' },
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json()).toMatchObject({ id: story.id, status: 'cancelled' });
    const tasks = await s.db.handle.db
      .selectFrom('tasks')
      .select(['status', 'error'])
      .where('workflow_id', '=', story.id)
      .execute();
    expect(tasks).toEqual([{ status: 'cancelled', error: 'duplicate of #1' }]);
    const board = await s.request({ method: 'GET', url: '/api/story-board?status=cancelled' });
    expect((board.json() as { stories: Array<{ id: number }> }).stories.map((c) => c.id)).toEqual([story.id]);
    const card = (
      (await s.request({ method: 'GET', url: '/api/story-board' })).json() as {
        stories: Array<{ id: number; column: string; status: string }>;
      }
    ).stories.find((c) => c.id === story.id);
    expect(card).toMatchObject({ column: 'done', status: 'cancelled' });
    // A late step (a task result, a decision) is ignored.
    const after = await advanceWorkflow(s.db.handle.db, workflowDeps(s.queue, 3), story.id, { type: 'started' }, 'w1');
    expect(after).toMatchObject({ status: 'cancelled', stage: 'story' });
    const ignored = await s.db.handle.db
      .selectFrom('events')
      .select('kind')
      .where('subject_type', '=', 'workflow')
      .where('subject_id', '=', String(story.id))
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    expect(ignored.kind).toBe('workflow.event_ignored');
    const before = await s.rowCounts();
    const again = await s.request({ method: 'POST', url: `/api/stories/${story.id}/cancel` });
    expect(again.statusCode).toBe(409);
    expect(errorOf(again).code).toBe('STORY_NOT_CANCELLABLE');
    const missing = await s.request({ method: 'POST', url: '/api/stories/999999/cancel' });
    expect(errorOf(missing).code).toBe('WORKFLOW_NOT_FOUND');
    expect(await s.rowCounts()).toEqual(before);
  });

  it("pages the board newest first with a cursor; each page carries its own stories' costs and open tasks", async () => {
    const { db } = s.db.handle;
    const now = Date.now();
    const repoId = (
      await db
        .insertInto('repositories')
        .values({
          name: 'paged',
          forge: 'local',
          location: repo.repo,
          default_branch: 'main',
          settings: '{}',
          created_at: now,
          updated_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
    const ids: number[] = [];
    for (let i = 1; i <= 7; i++) {
      const row = await db
        .insertInto('workflows')
        .values({
          kind: 'story',
          status: i % 3 === 0 ? 'completed' : 'running',
          stage: i % 3 === 0 ? 'done' : 'implement',
          title: `Story ${i}`,
          body: '',
          repo_id: repoId,
          state: '{}',
          created_by: 'test',
          created_at: now + i,
          updated_at: now + i,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(row.id);
    }
    // The oldest story (last page) has an open builder task and a session's cost.
    const task = await db
      .insertInto('tasks')
      .values({
        type: 'implement_feature',
        status: 'in_progress',
        priority: 5,
        payload: '{}',
        max_attempts: 3,
        run_after: now,
        workflow_id: ids[0]!,
        created_by: 'test',
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    // A newer open task (the card names its role) and a newer finished one (ignored) on the next story.
    const later = {
      priority: 5,
      payload: '{}',
      max_attempts: 3,
      run_after: now,
      created_by: 'test',
      created_at: now,
      updated_at: now,
    };
    await db
      .insertInto('tasks')
      .values([
        { ...later, type: 'review_mr', status: 'pending', workflow_id: ids[1]! },
        { ...later, type: 'implement_feature', status: 'in_progress', workflow_id: ids[1]! },
        { ...later, type: 'deploy', status: 'completed', workflow_id: ids[1]! },
      ])
      .execute();
    const session = await startSession(db, {
      taskId: task.id,
      role: 'builder',
      agentInstanceId: null,
      provider: 'codex',
      model: null,
      now,
    });
    await finishSession(db, session, {
      status: 'succeeded',
      outcome: 'succeeded',
      providerSessionId: null,
      model: null,
      tokensIn: 10,
      tokensOut: 5,
      tokensCache: 0,
      costUsd: 0.5,
      now,
    });

    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await s.request({
        method: 'GET',
        url: `/api/story-board?repo=paged&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        token: s.tokens.viewer,
      });
      expect(response.statusCode, response.body).toBe(200);
      const page = StoryBoardSchema.parse(response.json());
      expect(page.stories.length).toBeLessThanOrEqual(3);
      expect(page.repos).toContain('paged');
      seen.push(...page.stories.map((story) => story.id));
      cursor = page.next_cursor;
      pages++;
      if (!cursor) {
        expect(page.stories.at(-1)).toMatchObject({ id: ids[0], waits_for: 'builder', cost_usd: 0.5, tokens: 15 });
      }
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
    const whole = StoryBoardSchema.parse(
      (await s.request({ method: 'GET', url: '/api/story-board?repo=paged' })).json(),
    );
    expect(whole.next_cursor).toBeNull();
    // Two open tasks: the newest names who the story waits for (the builder), the finished deploy does not count.
    expect(whole.stories.find((story) => story.id === ids[1])).toMatchObject({ waits_for: 'builder', cost_usd: 0 });

    // With a status filter the cursor walks only those stories; a page that fits says there is no next one.
    const running = StoryBoardSchema.parse(
      (await s.request({ method: 'GET', url: '/api/story-board?repo=paged&status=running&limit=4' })).json(),
    );
    expect(running.stories.map((story) => story.title)).toEqual(['Story 7', 'Story 5', 'Story 4', 'Story 2']);
    const rest = StoryBoardSchema.parse(
      (
        await s.request({
          method: 'GET',
          url: `/api/story-board?repo=paged&status=running&limit=4&cursor=${running.next_cursor!}`,
        })
      ).json(),
    );
    expect(rest).toMatchObject({ stories: [expect.objectContaining({ title: 'Story 1' })], next_cursor: null });
  });

  it('refuses bad input with a clear 4xx', async () => {
    for (const query of ['limit=0', 'limit=501', 'limit=ten', 'cursor=nonsense', 'cursor=dDo1']) {
      const response = await s.request({ method: 'GET', url: `/api/story-board?${query}` });
      expect(response.statusCode, query).toBe(400);
      // `dDo1` is a task list cursor ("t:5"): not one for stories.
      expect(errorOf(response).code, query).toBe(query.startsWith('cursor') ? 'INVALID_CURSOR' : 'VALIDATION_FAILED');
    }
    const badStatus = await s.request({ method: 'GET', url: '/api/story-board?status=nope' });
    expect(badStatus.statusCode).toBe(400);
    expect(errorOf(badStatus).code).toBe('VALIDATION_FAILED');
    const missing = await s.request({ method: 'GET', url: '/api/stories/999999/timeline' });
    expect(missing.statusCode).toBe(404);
    expect(errorOf(missing).code).toBe('WORKFLOW_NOT_FOUND');
    const badId = await s.request({ method: 'GET', url: '/api/stories/01/timeline' });
    expect(badId.statusCode).toBe(400);
    const anonymous = await s.request({ method: 'GET', url: '/api/story-board', token: null });
    expect(anonymous.statusCode).toBe(401);
  });
});
