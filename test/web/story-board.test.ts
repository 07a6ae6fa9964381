/**
 * @module The story board and the story page in a real browser (Debian Chromium through playwright-core) against a
 * real server, a real git repository and a test database, on one engine (ONE_DIALECT: the board's SQL, its cards,
 * pages, filters and cancel, runs on both in test/server/story-board.test.ts).
 * Agents are not run: the test completes each task with a recorded result (a
 * stand-in for the agents), as the workflow receives it. A story is started from the board and moves through its
 * columns live; its spec is approved with a reason from the approvals page on a 390 px wide phone; its page shows
 * every stage, both gate rounds (a review finding, then the fix round passing), approval (who and why), cost and the
 * diff; its merge is approved there on the phone, then
 * the merge commit and the deployment show; a stopped story shows why and resumes with a note from its page; another
 * is cancelled from its page and filtered by status on the board (a viewer gets no "New story"); the story's tasks are listed from its page and filtered by role and status (story and
 * title, role, provider, duration, cost); every other page is visited with the story's data, the
 * overview showing the webhook outbox (URL secret masked). Screenshots of each page are kept under test-results/web/
 * (`<engine>-<page>.png`, the other pages as `<engine>-tour-<page>.png`; .ci/run lists them). Needs
 * `npm run build:web` first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finishSession, startSession } from '../../src/agents/session-store.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { markAttemptFailed, queueNotification, takeDueNotifications } from '../../src/notify/outbox.js';
import { createApiToken } from '../../src/server/api-tokens.js';
import { onWorkflowTaskCompleted, startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { gitIn, makeGitRepo, registerRepo } from '../support/agent-fixtures.js';
import { runMergeTasks } from '../support/merge-tasks.js';
import { ONE_DIALECT, useTestDatabase } from '../support/dialects.js';
import { LIVE_MS, PHONE, useBrowserDashboard } from '../support/browser-dashboard.js';

describe.each(ONE_DIALECT)('%s: story board in Chromium', { timeout: 120_000 }, (dialect) => {
  const t = useTestDatabase(dialect);
  let token: string;
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-web-board-'));
  const web = useBrowserDashboard(t, { dialect });
  afterAll(() => fs.rmSync(parent, { recursive: true, force: true }));
  const signedIn = (viewport?: { width: number; height: number }) => web.signedIn(token, viewport);
  const { shot, overflowing } = web;

  it('starts a story from the board, moves it through the columns live, shows its life, and approves from a phone', async () => {
    token = await createApiToken(t.handle.db, { name: 'lead', role: 'approver', now: Date.now() });
    const repo = makeGitRepo(parent, 'board-repo');
    gitIn(repo.path, 'checkout', '--quiet', '-b', 'autodev/1-sum', 'main');
    fs.writeFileSync(path.join(repo.path, 'sum.js'), 'export const sum = (a, b) => a + b;\n');
    gitIn(repo.path, 'add', '--all');
    gitIn(repo.path, '-c', 'user.name=T', '-c', 'user.email=t@localhost', 'commit', '--quiet', '-m', 'add sum');
    const sha = gitIn(repo.path, 'rev-parse', 'HEAD');
    gitIn(repo.path, 'checkout', '--quiet', 'main');
    await registerRepo(t.handle.db, { name: 'board-repo', location: repo.path });
    const deps = workflowDeps(web.queue, 3);
    /** The stand-in for an agent: claims the task and completes it with a recorded result, with a session's cost. */
    const complete = async (type: string, result: unknown, role: string, cost: number) => {
      const task = await web.queue.claim('w1', [type]);
      if (!task) throw new Error(`no pending ${type} task`);
      const now = Date.now();
      const session = await startSession(t.handle.db, {
        taskId: task.id,
        role,
        agentInstanceId: null,
        provider: 'claude',
        model: null,
        now,
      });
      await finishSession(t.handle.db, session, {
        status: 'succeeded',
        outcome: 'succeeded',
        providerSessionId: null,
        model: null,
        tokensIn: 1000,
        tokensOut: 100,
        tokensCache: 0,
        costUsd: cost,
        now,
      });
      await t.handle.db.transaction().execute(async (tx) => {
        await web.queue.complete({ taskId: task.id, workerId: 'w1' }, result, tx);
        await onWorkflowTaskCompleted(tx, deps, task, result, 'w1');
      });
    };

    // Sign in: the board is the landing page.
    const page = await web.page();
    await page.goto(web.base + '/');
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Stories' }).waitFor({ timeout: LIVE_MS });
    expect(new URL(page.url()).pathname).toBe('/stories');
    await page.getByText('No stories yet').waitFor();

    // New story from the board.
    await page.getByRole('button', { name: 'New story' }).click();
    await page.getByLabel('Title').fill('Add sum');
    await page.getByLabel('What it should do').fill('Sum two numbers');
    await page.getByRole('button', { name: 'Start story' }).click();
    const card = page.locator('[data-testid^="story-card-"]', { hasText: 'Add sum' });
    await card.waitFor({ timeout: LIVE_MS });
    const storyId = Number((await card.getAttribute('data-testid'))!.replace('story-card-', ''));
    expect(await card.getAttribute('data-column')).toBe('story');
    await card.getByText('waits for pm').waitFor();
    const pmTask = await t.handle.db
      .selectFrom('tasks')
      .select(['type', 'status'])
      .where('workflow_id', '=', storyId)
      .execute();
    expect(pmTask).toEqual([{ type: 'create_user_story', status: 'pending' }]);
    await shot(page, 'board-new-story');

    // It runs: each completion moves its card to the next column without a reload.
    const inColumn = (column: string) =>
      page.getByTestId(`column-${column}`).getByTestId(`story-card-${storyId}`).waitFor({ timeout: LIVE_MS });
    const story = { status: 'done', summary: 's', title: 'Add sum', body: 'B', acceptance_criteria: ['works'] };
    await complete('create_user_story', story, 'pm', 0.01);
    await inColumn('spec');
    const spec = {
      status: 'done',
      summary: 's',
      spec_markdown: '# Sum',
      files_to_touch: ['sum.js'],
      test_plan: 't',
      risks: [],
    };
    await complete('write_spec', spec, 'architect', 0.02);
    await inColumn('spec_approval');
    await card.getByText('waits for approver').waitFor();
    const [specApproval] = await t.handle.db.selectFrom('approvals').select('id').where('kind', '=', 'spec').execute();
    // The spec is approved, with a reason, from the approvals page on a 390 px wide phone: the card fits the page.
    const phone = await signedIn(PHONE);
    await phone.goto(`${web.base}/approvals`);
    const specCard = phone.getByTestId(`approval-${specApproval!.id}`);
    await specCard.getByRole('button', { name: 'Approve', exact: true }).waitFor({ timeout: LIVE_MS });
    expect(await overflowing(phone)).toEqual([]);
    // Nor does anything stick out of the card (the decide row wraps: the Reject button used to poke out).
    expect(
      await phone.evaluate(`[...document.querySelectorAll('.card.approval *')]
        .filter((el) => el.getBoundingClientRect().right > el.closest('.card').getBoundingClientRect().right + 1)
        .map((el) => el.tagName.toLowerCase() + '.' + el.className)`),
    ).toEqual([]);
    await shot(phone, 'approvals-phone');
    await specCard.getByPlaceholder(/^Reason/).fill('the spec covers it');
    await specCard.getByRole('button', { name: 'Approve', exact: true }).click();
    await specCard.getByText('approved by api:lead').waitFor({ timeout: LIVE_MS });
    await inColumn('implement');
    const implemented = {
      status: 'done',
      summary: 's',
      branch: 'autodev/1-sum',
      commits: [{ sha, message: 'add sum' }],
      files_changed: ['sum.js'],
    };
    await complete('implement_feature', implemented, 'builder', 0.5);
    await inColumn('gates');
    // Round 0: the review asks for a change (a finding), so a fix round runs; round 1 passes every gate.
    const finding = { severity: 'major', message: 'name the parameters', file: 'sum.js', line: 1 };
    const changes = { status: 'done', summary: 's', verdict: 'request_changes', findings: [finding] };
    const tests = { status: 'done', summary: 's', command: 'npm test', passed: 3, failed: 0, skipped: 0, failures: [] };
    const secure = { status: 'done', summary: 's', verdict: 'pass', findings: [] };
    await complete('review_mr', changes, 'reviewer', 0.1);
    await complete('run_tests', tests, 'tester', 0.1);
    await complete('security_scan', secure, 'security', 0.1);
    await inColumn('implement');
    await card.getByText('fix round 1').waitFor({ timeout: LIVE_MS });
    // The fix's result lists the branch's commit again: the story page shows it once.
    await complete('implement_fix', implemented, 'builder', 0.2);
    await inColumn('gates');
    await complete('review_mr', { status: 'done', summary: 's', verdict: 'approve', findings: [] }, 'reviewer', 0.1);
    await complete('run_tests', tests, 'tester', 0.1);
    await complete('security_scan', secure, 'security', 0.1);
    await inColumn('merge_approval');
    await card.getByText('review ✓').waitFor({ timeout: LIVE_MS });
    await card.getByText('$1.33').waitFor({ timeout: LIVE_MS });
    // Repository, round and age on the card.
    expect(await card.locator('.muted').first().textContent()).toMatch(/^board-repo · fix round 1 · \d+[smhd] ago$/);
    await shot(page, 'board-merge-approval');

    // The board on a phone: one list per stage, no sideways scroll.
    await phone.goto(`${web.base}/stories`);
    await phone.getByTestId(`story-card-${storyId}`).waitFor({ timeout: LIVE_MS });
    expect(await overflowing(phone)).toEqual([]);
    await shot(phone, 'board-phone');

    // The story page at 390 px: every stage, the gate round, approvals, cost and the diff; approve the merge there.
    await phone.getByTestId(`story-card-${storyId}`).getByRole('link').click();
    await phone.getByTestId('story-page').waitFor({ timeout: LIVE_MS });
    for (const stage of ['story', 'spec', 'spec_approval', 'implement', 'gates', 'merge_approval', 'merge', 'deploy']) {
      await phone.getByTestId(`stage-${stage}`).waitFor();
    }
    await phone.getByTestId('stage-implement').getByText('implement_feature').waitFor();
    const rounds = phone.getByTestId('gate-rounds');
    expect(await rounds.locator('tbody tr').count()).toBe(6);
    expect(await rounds.getByText('passed').count()).toBe(5);
    const failedRound = rounds.locator('tbody tr', { hasText: 'failed' });
    expect(await failedRound.locator('td').allTextContents()).toEqual([
      '0',
      'review',
      'failed',
      'review: [major] name the parameters (sum.js:1)',
    ]);
    // Who decided and why.
    await phone
      .getByTestId('approvals')
      .getByText(/by api:lead .* — the spec covers it/)
      .waitFor();
    await phone.getByTestId('cost').getByText('builder').waitFor();
    await phone.getByTestId('cost').getByText('$1.33', { exact: true }).waitFor();
    await phone.getByTestId('commits').getByText(sha.slice(0, 12)).waitFor();
    await phone.getByText('sum.js').first().waitFor({ timeout: LIVE_MS });
    expect(await overflowing(phone)).toEqual([]);
    await shot(phone, 'story-page-phone');
    const approval = phone.locator('[data-testid^="story-approval-"]');
    await approval.getByRole('button', { name: 'Approve' }).click();
    await expect
      .poll(() => phone.getByTestId('story-column').textContent(), { timeout: LIVE_MS })
      .not.toBe('merge approval');
    const merge = await t.handle.db
      .selectFrom('approvals')
      .select(['status', 'decided_by'])
      .where('kind', '=', 'merge')
      .executeTakeFirstOrThrow();
    expect(merge).toEqual({ status: 'approved', decided_by: 'api:lead' });
    await shot(phone, 'story-page-phone-approved');

    // The merge step (the devops worker's part, run here) and the deployment: the page shows the merge commit and
    // the deployment's outcome, and the story is done.
    expect((await runMergeTasks(web.queue, deps)).map((r) => r.outcome)).toEqual(['merged']);
    const deployed = { status: 'done', summary: 'no deploy command; nothing was deployed', outcome: 'skipped' };
    await complete('deploy', deployed, 'devops', 0);
    await phone.getByTestId('deployment').getByText('nothing was deployed').waitFor({ timeout: LIVE_MS });
    expect(await phone.getByTestId('deployment').textContent()).toContain('skipped');
    await phone
      .getByTestId('commits')
      .getByText(/^merge commit [0-9a-f]{12}$/)
      .waitFor({ timeout: LIVE_MS });
    expect(await phone.getByTestId('story-column').textContent()).toBe('done');
    // The merge step's own task sits in the merge stage (it was missing from the timeline).
    await phone
      .getByTestId('stage-merge')
      .getByRole('link', { name: /^#\d+ merge$/ })
      .waitFor();
    expect(await overflowing(phone)).toEqual([]);
    await shot(phone, 'story-page-phone-deployed');
    // A stage's session links to its transcript.
    await phone
      .getByTestId('stage-implement')
      .getByRole('link', { name: /^session #\d+$/ })
      .first()
      .click();
    await phone.getByRole('heading', { name: /^Session \d+ builder/ }).waitFor({ timeout: LIVE_MS });

    // The desktop board follows the decision live.
    await expect.poll(() => card.getAttribute('data-column'), { timeout: LIVE_MS }).toBe('done');
    await shot(page, 'board-after-merge-approval');

    // The other pages with the story's data; the overview lists the webhook outbox with the URL's secret masked.
    const notify = SettingsSchema.parse({
      notify: { webhooks: [{ url: 'https://hooks.slack.com/services/T0/B0/s3cr3t', format: 'slack' }] },
    }).notify;
    const message = (n: number) => ({
      dedupeKey: `approval:${n}`,
      message: {
        event: 'approval_opened' as const,
        title: `Approval ${n} is open`,
        text: 't',
        path: '/approvals',
        subject: { type: 'approval', id: String(n) },
        at: new Date().toISOString(),
      },
    });
    await queueNotification(t.handle.db, notify, message(1), Date.now());
    const [due] = await takeDueNotifications(t.handle.db, Date.now());
    await markAttemptFailed(t.handle.db, notify, due!, 'HTTP 500', Date.now());
    await queueNotification(t.handle.db, notify, message(2), Date.now());
    await page.goto(`${web.base}/`);
    const outbox = page.getByRole('region', { name: 'Notifications' });
    await outbox.getByTestId('notification-counts').getByText('1 pending, 1 retrying').waitFor({ timeout: LIVE_MS });
    await outbox.getByText('https://hooks.slack.com/services/***').first().waitFor();
    expect(await page.content()).not.toContain('s3cr3t');
    await shot(page, 'tour-overview');
    // The story's tasks from its page, filtered by role then status: story and title, role, provider, duration, cost.
    await page.goto(`${web.base}/stories/${storyId}`);
    await page.getByRole('link', { name: 'All tasks of this story' }).click();
    await page.getByText(`Story #${storyId}`).waitFor({ timeout: LIVE_MS });
    // The filter's heading shows before the rows arrive.
    await expect.poll(() => page.locator('tbody tr').count(), { timeout: LIVE_MS }).toBe(12);
    await page.getByLabel('Role').selectOption('builder');
    await expect.poll(() => page.locator('tbody tr').count(), { timeout: LIVE_MS }).toBe(2);
    const cells = await page.locator('tbody tr', { hasText: 'implement_feature' }).locator('td').allTextContents();
    expect(cells.slice(1, 6)).toEqual([`#${storyId} Add sum`, 'implement_feature', 'builder', 'completed', 'claude']);
    expect(cells[6]).toMatch(/^\d+(s|m|\.\dh)$/);
    expect(cells[7]).toBe('$0.500');
    await shot(page, 'tour-tasks');
    await page.getByLabel('Status').selectOption('failed');
    await page.getByText('No tasks match these filters').waitFor({ timeout: LIVE_MS });
    await page.goto(`${web.base}/approvals?status=approved`);
    await page.getByTestId(`approval-${specApproval!.id}`).waitFor({ timeout: LIVE_MS });
    await shot(page, 'tour-approvals');
    for (const [url, heading] of [
      ['/repos', 'Repositories'],
      ['/swarm', 'Swarm'],
      ['/schedules', 'Schedules'],
      ['/memory', 'Memory'],
      ['/instructions', 'Instructions'],
    ] as const) {
      await page.goto(web.base + url);
      await page.getByRole('heading', { name: heading, exact: true }).first().waitFor({ timeout: LIVE_MS });
      await shot(page, `tour-${url.slice(1)}`);
    }
  });

  it('cancels a story from its page: its task is cancelled, the board shows it done and filters it by status; a viewer gets no New story', async () => {
    token = await createApiToken(t.handle.db, { name: 'lead', role: 'approver', now: Date.now() });
    const wf = await startStoryWorkflow(t.handle.db, workflowDeps(web.queue, 3), {
      title: 'Not needed after all',
      body: 'b',
      repoId: null,
      createdBy: 'test',
    });
    const page = await signedIn();
    await page.goto(`${web.base}/stories/${wf.id}`);
    await page.getByRole('button', { name: 'Cancel story' }).click();
    await page.getByPlaceholder('Why (optional)').fill('duplicate');
    await page.getByRole('button', { name: 'Cancel this story' }).click();
    await page
      .getByRole('heading', { name: /Not needed after all/ })
      .getByText('cancelled')
      .waitFor({ timeout: LIVE_MS });
    const tasks = await t.handle.db
      .selectFrom('tasks')
      .select(['status', 'error'])
      .where('workflow_id', '=', wf.id)
      .execute();
    expect(tasks).toEqual([{ status: 'cancelled', error: 'duplicate' }]);
    await shot(page, 'story-page-cancelled');
    await page.getByRole('link', { name: 'Stories' }).first().click();
    await page.getByTestId('column-done').getByTestId(`story-card-${wf.id}`).waitFor({ timeout: LIVE_MS });
    // The status filter (kept in the URL) keeps it or leaves it out.
    await page.getByLabel('Status').selectOption('cancelled');
    await expect.poll(() => new URL(page.url()).search, { timeout: LIVE_MS }).toBe('?status=cancelled');
    await page.getByTestId(`story-card-${wf.id}`).waitFor({ timeout: LIVE_MS });
    await page.getByLabel('Status').selectOption('running');
    await expect.poll(() => page.locator('.story-card').count(), { timeout: LIVE_MS }).toBe(0);
    // A viewer sees the board and the story but may not start or cancel one.
    const viewer = await web.signedIn(
      await createApiToken(t.handle.db, { name: 'v', role: 'viewer', now: Date.now() }),
    );
    await viewer.goto(`${web.base}/stories`);
    await viewer.getByTestId(`story-card-${wf.id}`).waitFor({ timeout: LIVE_MS });
    expect(await viewer.getByRole('button', { name: 'New story' }).count()).toBe(0);
  });

  it('shows why a stopped story waits and resumes it with a note from its page', async () => {
    token = await createApiToken(t.handle.db, { name: 'lead', role: 'approver', now: Date.now() });
    const deps = workflowDeps(web.queue, 3);
    const wf = await startStoryWorkflow(t.handle.db, deps, {
      title: 'Sum',
      body: 'b',
      repoId: null,
      createdBy: 'test',
    });
    const task = await web.queue.claim('w1', ['create_user_story']);
    const blocked = { status: 'blocked', summary: 's', blocked_reason: 'which numbers?' };
    await t.handle.db.transaction().execute(async (tx) => {
      await web.queue.complete({ taskId: task!.id, workerId: 'w1' }, blocked, tx);
      await onWorkflowTaskCompleted(tx, deps, task!, blocked, 'w1');
    });
    const page = await signedIn();
    await page.goto(`${web.base}/stories`);
    const card = page.getByTestId('column-waiting_for_human').getByTestId(`story-card-${wf.id}`);
    await card.getByText('waits for human').waitFor({ timeout: LIVE_MS });
    await card.getByRole('link').click();
    const halt = page.getByTestId('halt');
    await halt.getByText('which numbers?').first().waitFor({ timeout: LIVE_MS });
    await shot(page, 'story-page-stopped');
    await halt.getByPlaceholder(/note/).fill('integers only');
    await halt.getByRole('button', { name: 'Resume with this note' }).click();
    await page.getByTestId('story-column').getByText('story').waitFor({ timeout: LIVE_MS });
    expect(await page.getByTestId('halt').count()).toBe(0);
    const resumed = await web.queue.claim('w1', ['create_user_story']);
    expect(resumed?.payload).toMatchObject({ note: 'integers only' });
    await web.queue.release({ taskId: resumed!.id, workerId: 'w1' }, 'test done');
  });

  it('shows the newest page of stories and loads older pages on request', async () => {
    token = await createApiToken(t.handle.db, { name: 'lead', role: 'approver', now: Date.now() });
    const now = Date.now();
    await t.handle.db
      .insertInto('workflows')
      .values(
        Array.from({ length: 130 }, (_, i) => ({
          kind: 'story' as const,
          status: 'completed' as const,
          stage: 'done',
          title: `Old story ${i + 1}`,
          body: '',
          repo_id: null,
          state: '{}',
          created_by: 'test',
          created_at: now - (130 - i) * 60_000,
          updated_at: now,
        })),
      )
      .execute();
    const page = await signedIn();
    await page.goto(`${web.base}/stories`);
    const cards = page.locator('.story-card');
    await page.getByText('50 newest shown').waitFor({ timeout: LIVE_MS });
    expect(await cards.count()).toBe(50);
    await page.getByRole('button', { name: 'Older stories' }).click();
    await page.getByText('100 newest shown').waitFor({ timeout: LIVE_MS });
    expect(await cards.count()).toBe(100);
    await page.getByRole('button', { name: 'Older stories' }).click();
    await page.getByText(/^#\d+ Old story 1$/).waitFor({ timeout: LIVE_MS });
    expect(await cards.count()).toBe(130);
    expect(await page.getByRole('button', { name: 'Older stories' }).count()).toBe(0);
  });
});
