/**
 * @module `autodev demo` end to end through the built CLI, on PostgreSQL: the whole story with every
 * session on the REAL Claude Code CLI (bundled with the Agent SDK), sandboxed, whose model is the demo's local
 * stand-in playing the recorded sessions; real git (the builder commits in its own clone), the real test gate and a
 * real merge; the printed stages and summary agree with the database and the sample repository; a second run on the
 * same data dir starts clean on a new sample repository without touching the first (stopped with Ctrl-C once its PM
 * has run).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, ONE_DIALECT, type TestDatabase } from '../support/dialects.js';
import {
  expectedSummary,
  gitIn,
  outputField,
  runDemoCli,
  runSampleTests,
  stageLines,
  startDemoCli,
  storyFigures,
  summaryFigures,
  type DemoRun,
} from './demo-fixtures.js';

const STAGES_OF_A_CLEAN_RUN = [
  'story',
  'spec',
  'spec approval',
  'implement',
  'gates round 0',
  'implement_fix round 1',
  'gates round 1',
  'merge approval',
  'merge',
  'deploy',
  'done',
];

const AGENT_LINE = /^\s+[✓✗] (PM|Architect|Builder|Reviewer|Tester|Security) /;

// One engine: PostgreSQL, where the progress could skip an event (commits out of id order). On SQLite the whole demo
// runs in demo-interrupt.test.ts (stopped, then resumed to the end, its summary checked against the database) and in
// crash-each-stage.test.ts; the demo's SQL runs on both engines there.
describe.each(ONE_DIALECT)('%s: autodev demo', (dialect) => {
  let t: TestDatabase;
  let first: DemoRun;
  let firstRepo: string;
  let firstMain: string;

  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('runs one story through every stage on the real Claude Code CLI with a stand-in model playing recorded sessions, merges it, and its summary matches the database', async () => {
    const started = Date.now();
    first = await runDemoCli(t, t.dir);
    const elapsed = Date.now() - started;
    expect(first.code, `${first.stdout}\n${first.stderr}`).toBe(0);
    console.log(`[${dialect}] demo story in ${elapsed} ms`);

    // The stages, in order, each printed once as it happened.
    expect(stageLines(first.lines).map((l) => l.split(':')[0])).toEqual(STAGES_OF_A_CLEAN_RUN);
    // Every line showing an agent's work says it was a recorded session played by the stand-in; one per session.
    const agentLines = first.lines.filter((l) => AGENT_LINE.test(l));
    expect(agentLines.length).toBe(10);
    for (const line of agentLines) expect(line).toContain('(recorded session, stand-in model)');
    expect(first.stdout).toContain('its model is a LOCAL STAND-IN playing RECORDED sessions');
    // Every tool call ran for real and agreed with the recording.
    expect(first.stdout).toContain('every tool call ran for real in the sandbox and agreed with the recording');

    const workflowId = Number(outputField(first, /^story: +#(\d+) /m));
    const db = t.handle.db;
    const workflow = await db
      .selectFrom('workflows')
      .selectAll()
      .where('id', '=', workflowId)
      .executeTakeFirstOrThrow();
    expect(workflow).toMatchObject({ status: 'completed', stage: 'done', fix_rounds: 1, created_by: 'demo' });
    const repo = await db
      .selectFrom('repositories')
      .selectAll()
      .where('id', '=', workflow.repo_id!)
      .executeTakeFirstOrThrow();
    expect(repo).toMatchObject({ name: 'demo-sample', test_command: 'node --test', default_branch: 'main' });
    expect(repo.location).toBe(path.join(fs.realpathSync(t.dir), 'demo', 'sample-repo'));

    // Both gates approved by the demo, each after printing the command a human would type.
    const approvals = await db.selectFrom('approvals').selectAll().where('workflow_id', '=', workflowId).execute();
    expect(approvals.map((a) => [a.kind, a.status, a.decided_by])).toEqual([
      ['spec', 'approved', 'demo'],
      ['merge', 'approved', 'demo'],
    ]);
    for (const approval of approvals) {
      expect(first.stdout).toContain(`would type: autodev --data-dir ${t.dir} approvals approve ${approval.id}`);
    }

    // One fix round: the tester's round-0 gate failed on the real test run, implement_fix fixed it.
    const figures = await storyFigures(db, workflowId);
    const fixes = figures.tasks.filter((task) => task.type === 'implement_fix');
    expect(fixes.map((task) => [task.status, JSON.parse(task.payload).round])).toEqual([['completed', 1]]);
    const testRuns = figures.tasks.filter((task) => task.type === 'run_tests');
    expect(testRuns.map((task) => [JSON.parse(task.result!).passed, JSON.parse(task.result!).failed])).toEqual([
      [5, 1],
      [7, 0],
    ]);
    expect(figures.tasks.every((task) => task.status === 'completed')).toBe(true);
    const unsuccessful = figures.sessions.filter((s) => s.status !== 'succeeded');
    const retries = unsuccessful.length
      ? await db
          .selectFrom('events')
          .select(['subject_id', 'data'])
          .where('kind', '=', 'task.retry_scheduled')
          .where(
            'subject_id',
            'in',
            unsuccessful.map((s) => String(s.task_id)),
          )
          .execute()
      : [];
    expect(
      figures.sessions.map((s) => [s.provider, s.model, s.status]),
      `every session ran on Claude Code, told it talks to the recordings' model; not succeeded: ${JSON.stringify({ unsuccessful, retries })}`,
    ).toEqual(figures.sessions.map(() => ['claude', 'claude-sonnet-4-5', 'succeeded']));
    // Each session is the CLI's own (its id), and its transcript opens with the stand-in's label and holds the real
    // tool results (the test run's real output, the sandboxed commit).
    const transcript = async (taskId: number) => {
      const session = figures.sessions.find((s) => s.task_id === taskId)!;
      expect(session.provider_session_id).toMatch(/^[0-9a-f-]{36}$/);
      const rows = await db
        .selectFrom('session_events')
        .select(['kind', 'data'])
        .where('session_id', '=', session.id)
        .orderBy('seq')
        .execute();
      return rows.map((r): Record<string, unknown> => ({ ...(JSON.parse(r.data) as object), type: r.kind }));
    };
    const builder = figures.tasks.find((task) => task.type === 'implement_feature')!;
    const builderEvents = await transcript(builder.id);
    expect(builderEvents.find((e) => e.type === 'text')?.text).toMatch(
      /^\[recorded session 03-builder-implement-feature\.jsonl, played by Auto-Dev's local stand-in model/,
    );
    expect(builderEvents.filter((e) => e.type === 'tool_call').map((e) => e.name)).toContain('ToolSearch');

    // The summary's numbers are the database's.
    expect(summaryFigures(first)).toEqual(expectedSummary(figures));
    expect(figures.tokensIn).toBeGreaterThan(0);

    // main has the real merge commit with the fixed change, and the sample repo's tests pass there.
    firstRepo = repo.location;
    firstMain = gitIn(firstRepo, 'rev-parse', 'main');
    const mr = await db
      .selectFrom('merge_requests')
      .selectAll()
      .where('workflow_id', '=', workflowId)
      .executeTakeFirstOrThrow();
    expect(mr).toMatchObject({ status: 'merged', merge_sha: firstMain, target_branch: 'main' });
    expect(outputField(first, /^ {2}merge: +([0-9a-f]{40}) on main/m)).toBe(firstMain);
    expect(gitIn(firstRepo, 'rev-list', '--parents', '-n', '1', 'main').split(' ')).toHaveLength(3);
    expect(gitIn(firstRepo, 'show', 'main:src/slugify.js')).toContain('/[^a-z0-9]+/g');
    expect(gitIn(firstRepo, 'log', '--format=%s', 'main')).toContain(
      'Fix slugify: collapse separator runs, trim dashes',
    );
    // The agent made its commits itself, in its task clone in the sandbox (the clone's identity), not Auto-Dev.
    expect(gitIn(firstRepo, 'log', '--format=%an|%s', '-n', '2', 'main^2').split('\n')).toEqual([
      expect.stringMatching(/^Auto-Dev agent \(task \d+\)\|Fix slugify: collapse separator runs, trim dashes$/),
      expect.stringMatching(/^Auto-Dev agent \(task \d+\)\|Add slugify\(text\) with tests$/),
    ]);
    expect(gitIn(firstRepo, 'rev-parse', 'HEAD')).toBe(firstMain);
    expect(gitIn(firstRepo, 'status', '--porcelain')).toBe('');
    expect(runSampleTests(firstRepo)).toEqual({ code: 0, pass: 7, fail: 0 });
    expect(first.stdout).toMatch(/tests on main: `node --test` PASSED: 7 passed, 0 failed, 0 skipped/);
  }, 180_000);

  // The second run is stopped (Ctrl-C) once its PM has written the new story's user story: what it checks is the
  // clean start beside the first story, not a second copy of the story (demo-interrupt.test.ts resumes a stopped run
  // to the end; its lookup of the earlier story is the same SQL as this one's).
  it('a second run on the same data dir starts clean on a new sample repository and leaves the first as it was', async () => {
    expect(first?.code).toBe(0);
    const db = t.handle.db;
    const [firstStory] = await db.selectFrom('workflows').select(['id']).execute();
    const second = await startDemoCli(t, t.dir, /▶ stage spec: /, ['--replay-delay', '0']);
    second.child.kill('SIGINT');
    const code = await second.exited;
    const output = second.output();
    expect(code, output).toBe(130);
    expect(output).toContain(`the earlier demo story #${firstStory!.id} is completed, so this run starts clean`);
    const secondRepo = path.join(fs.realpathSync(t.dir), 'demo', 'sample-repo-2');
    expect(output).toContain(`"demo-sample-2" at ${secondRepo}`);
    // The new story ran on the new repository: its PM's user story is done, on demo-sample-2.
    const workflows = await db
      .selectFrom('workflows')
      .innerJoin('repositories', 'repositories.id', 'workflows.repo_id')
      .select(['workflows.id', 'workflows.status', 'repositories.name', 'repositories.location'])
      .orderBy('workflows.id')
      .execute();
    expect(workflows.map((w) => [w.status, w.name])).toEqual([
      ['completed', 'demo-sample'],
      ['running', 'demo-sample-2'],
    ]);
    expect(workflows[1]!.location).toBe(secondRepo);
    const secondTasks = await db
      .selectFrom('tasks')
      .select(['type', 'status'])
      .where('workflow_id', '=', workflows[1]!.id)
      .where('type', '=', 'create_user_story')
      .execute();
    expect(secondTasks).toEqual([{ type: 'create_user_story', status: 'completed' }]);
    // The new repository is the sample as shipped: its one commit, nothing merged into it yet.
    expect(gitIn(secondRepo, 'rev-list', '--count', 'main')).toBe('1');
    expect(gitIn(secondRepo, 'status', '--porcelain')).toBe('');

    // The first story's repository and rows are untouched; nothing is left running.
    expect(gitIn(firstRepo, 'rev-parse', 'main')).toBe(firstMain);
    expect(runSampleTests(firstRepo)).toEqual({ code: 0, pass: 7, fail: 0 });
    const inProgress = await db.selectFrom('tasks').select('id').where('status', '=', 'in_progress').execute();
    expect(inProgress).toEqual([]);
    const mrs = await db.selectFrom('merge_requests').select(['status']).execute();
    expect(mrs.map((m) => m.status)).toEqual(['merged']);
  }, 180_000);
});
