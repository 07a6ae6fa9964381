/**
 * `repos`, `stories` and `approvals` on SQLite and PostgreSQL, in process through `runCli`, with a few smoke checks
 * through the BUILT cli (`npm run build` first). Bad input exits 2 with one line on stderr and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { onWorkflowTaskCompleted } from '../../src/workflow/advance-workflow.js';
import { runBuiltCli, type CliOutcome } from '../support/built-cli.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { runCliInProcessOn, type InProcessOutcome } from '../support/in-process-cli.js';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';

const STORY = { status: 'done', summary: 's', stories: [{ title: 'T', body: 'B', acceptance_criteria: ['works'] }] };
const SPEC = {
  status: 'done',
  summary: 's',
  spec_markdown: '# Spec',
  files_to_touch: ['a.ts'],
  test_plan: 't',
  risks: [],
};

describe.each(DIALECTS)('%s: repos, stories and approvals commands', (dialect) => {
  let t: TestDatabase;
  let repo: TestRepo;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
    repo = await makeRepo();
  });
  afterAll(async () => {
    await t.drop();
    await repo.cleanup();
  });

  /** In process through runCli; `builtCli` runs the built binary, for a few smoke checks of the same commands. */
  const cli = (...args: string[]) => runCliInProcessOn(t, args, { USER: 'alice' });
  const builtCli = (...args: string[]) => runBuiltCli(t, args, { USER: 'alice' });

  const eventCount = async () =>
    Number(
      (
        await t.handle.db
          .selectFrom('events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  async function expectRefused(outcome: CliOutcome | InProcessOutcome, pattern: RegExp) {
    expect(outcome.code, outcome.stderr).toBe(2);
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
    expect(outcome.stderr).toMatch(pattern);
  }

  it('adds a repo, starts a story, and decides its spec approval', async () => {
    const added = await builtCli('repos', 'add', repo.repo, '--name', 'sample', '--test-command', 'npm test', '--json');
    expect(added.code, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ name: 'sample', default_branch: 'main' });
    const before = await eventCount();
    await expectRefused(await builtCli('repos', 'add', repo.repo, '--name', 'sample'), /already exists/);
    await expectRefused(await cli('repos', 'add', repo.root), /not a git repository/);
    await expectRefused(await cli('stories', 'create', '--repo', 'nope', '--title', 'x'), /no repository named "nope"/);
    expect(await eventCount()).toBe(before);

    const created = await builtCli('stories', 'create', '--repo', 'sample', '--title', 'Add sum', '--json');
    expect(created.code, created.stderr).toBe(0);
    const story = JSON.parse(created.stdout) as { id: number };
    expect(story).toMatchObject({ stage: 'story', created_by: 'cli:alice' });

    // The PM and the architect, completed by hand with the workflow hook in the completing transaction.
    const queue = new TaskQueue(t.handle);
    const deps = { queue, maxFixRounds: 3 };
    for (const [type, result] of [
      ['create_user_story', STORY],
      ['write_spec', SPEC],
    ] as const) {
      const task = await queue.claim('w1', [type]);
      await t.handle.db.transaction().execute(async (tx) => {
        await queue.complete({ taskId: task!.id, workerId: 'w1' }, result, tx);
        await onWorkflowTaskCompleted(tx, deps, task!, result, 'w1');
      });
    }
    await queue.close();

    const listed = await cli('approvals', 'list', '--status', 'pending', '--json');
    const approvals = (JSON.parse(listed.stdout) as { approvals: { id: number; kind: string }[] }).approvals;
    expect(approvals).toEqual([expect.objectContaining({ kind: 'spec' })]);
    const id = String(approvals[0]!.id);

    const beforeDecisions = await eventCount();
    await expectRefused(await cli('approvals', 'reject', id), /needs a reason/);
    await expectRefused(await cli('approvals', 'approve', '99999'), /no approval has id 99999/);
    await expectRefused(await cli('approvals', 'approve', 'abc'), /positive whole number/);
    await expectRefused(await cli('approvals', 'list', '--status', 'maybe'), /unknown approval status/);
    expect(await eventCount()).toBe(beforeDecisions);

    const rejected = await cli('approvals', 'reject', id, '--reason', 'too broad');
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toContain('rejected by cli:alice');
    await expectRefused(await cli('approvals', 'approve', id), /already rejected by cli:alice/);

    const shown = await cli('stories', 'show', String(story.id), '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({
      stage: 'spec',
      approvals: [expect.objectContaining({ status: 'rejected', reason: 'too broad' })],
    });
    const text = await cli('stories', 'list');
    expect(text.stdout).toMatch(/Add sum/);
    await expectRefused(await cli('repos', 'remove', 'sample'), /open workflow/);
  });

  it('names deploy secrets and a coverage threshold, and resumes a story that waits for a human', async () => {
    const other = await makeRepo();
    try {
      const before = await eventCount();
      await expectRefused(
        await cli('repos', 'add', other.repo, '--name', 'svc', '--coverage-threshold', 'lots'),
        /--coverage-threshold must be a percentage/,
      );
      await expectRefused(
        await cli('repos', 'add', other.repo, '--name', 'svc', '--deploy-secret', 'BAD NAME'),
        /environment variable name/,
      );
      await expectRefused(
        await cli('repos', 'add', other.repo, '--name', 'svc', '--merge-method', 'rebase'),
        /--merge-method must be merge or squash/,
      );
      expect(await eventCount()).toBe(before);
      const added = await cli(
        'repos',
        'add',
        other.repo,
        '--name',
        'svc',
        '--deploy-command',
        './deploy.sh',
        '--deploy-secret',
        'FLY_API_TOKEN',
        '--deploy-secret',
        'SENTRY_DSN',
        '--coverage-threshold',
        '80',
        '--merge-method',
        'squash',
        '--json',
      );
      expect(added.code, added.stderr).toBe(0);
      expect(JSON.parse(added.stdout)).toMatchObject({
        deploy_command: './deploy.sh',
        deploy_secrets: ['FLY_API_TOKEN', 'SENTRY_DSN'],
        coverage_threshold: 80,
        merge_method: 'squash',
      });

      const created = await cli('stories', 'create', '--repo', 'svc', '--title', 'Ship it', '--json');
      const story = JSON.parse(created.stdout) as { id: number };
      const beforeResume = await eventCount();
      await expectRefused(await cli('stories', 'resume', String(story.id)), /not waiting for a human/);
      await expectRefused(await cli('stories', 'resume', 'abc'), /positive whole number/);
      await expectRefused(await cli('stories', 'resume', '99999'), /no workflow has id 99999/);
      expect(await eventCount()).toBe(beforeResume);

      // The PM gives up: the story waits for a human.
      const queue = new TaskQueue(t.handle);
      const deps = { queue, maxFixRounds: 3 };
      const blocked = { status: 'blocked', summary: 's', blocked_reason: 'which service?' };
      const task = await queue.claim('w1', ['create_user_story']);
      await t.handle.db.transaction().execute(async (tx) => {
        await queue.complete({ taskId: task!.id, workerId: 'w1' }, blocked, tx);
        await onWorkflowTaskCompleted(tx, deps, task!, blocked, 'w1');
      });
      const waiting = await cli('stories', 'show', String(story.id));
      expect(waiting.stdout).toContain(`waiting for a human: The create_user_story task #${task!.id} is blocked`);
      expect(waiting.stdout).toContain(`stopped on task ${task!.id}: which service?`);
      const resumed = await cli('stories', 'resume', String(story.id), '--note', 'the billing service');
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toContain(`story ${story.id} resumed`);
      const again = await queue.claim('w1', ['create_user_story']);
      expect(again?.payload).toMatchObject({ note: 'the billing service' });
      await queue.close();
      const audit = await t.handle.db
        .selectFrom('events')
        .selectAll()
        .where('kind', '=', 'workflow.resumed')
        .executeTakeFirstOrThrow();
      expect(audit.actor).toBe('cli:alice');
    } finally {
      await other.cleanup();
    }
  });
});
