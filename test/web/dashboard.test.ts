/**
 * @module The dashboard in a real browser (Debian Chromium through playwright-core) against a real server on a test
 * database: login, live agent status, a streaming transcript, viewer restrictions, and untrusted text that runs
 * nothing. Needs `npm run build:web` first; saves a screenshot of each page under test-results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { registerAgent, setAgentStatus } from '../../src/agents/agent-registry.js';
import { appendTranscript, startSession } from '../../src/agents/session-store.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { createApiToken } from '../../src/server/api-tokens.js';
import { onWorkflowTaskCompleted, startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { buildServer } from '../../src/server/build-server.js';
import { makeGitRepo } from '../support/agent-fixtures.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WEB_DIST = path.join(ROOT, 'web', 'dist');
const SHOTS = path.join(ROOT, 'test-results', 'web');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** How long a live change may take to show: the event stream wakes within a second; the page debounces 300 ms. */
const LIVE_MS = 8_000;

const XSS_SPEC = [
  '# Spec with hostile content',
  '',
  '<script>window.__pwned = "script"</script>',
  '',
  '[harmless looking link](javascript:window.__pwned="link")',
  '',
  '<a href="JaVaScRiPt:window.__pwned=\'raw\'">raw html link</a>',
  '',
  '<img src="x" onerror="window.__pwned=\'img\'">',
  '',
  '<iframe src="javascript:window.__pwned=\'iframe\'"></iframe>',
  '',
  'A [real link](https://example.com/docs) stays.',
].join('\n');

describe.each(DIALECTS)('%s: dashboard in Chromium', (dialect) => {
  const t = useTestDatabase(dialect);
  let app: FastifyInstance;
  let queue: TaskQueue;
  let browser: Browser;
  let base: string;
  let tokens: { admin: string; viewer: string };
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    if (!fs.existsSync(path.join(WEB_DIST, 'index.html'))) {
      throw new Error('web/dist is missing: run "npm run build:web" (or "npm run build") before the browser tests');
    }
    fs.mkdirSync(SHOTS, { recursive: true });
    queue = new TaskQueue(t.handle, DEFAULT_QUEUE_SETTINGS);
    app = await buildServer({
      handle: t.handle,
      queue,
      logger: createLogger({ level: 'silent', pretty: false }),
      version: 'test',
      webRoot: WEB_DIST,
      dailyBudget: 1_000_000,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
    // playwright-core gives every launch a fresh temporary profile (it refuses --user-data-dir in args).
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });
  beforeEach(async () => {
    const now = Date.now();
    tokens = {
      admin: await createApiToken(t.handle.db, { name: 'admin', role: 'admin', now }),
      viewer: await createApiToken(t.handle.db, { name: 'wallboard', role: 'viewer', now }),
    };
  });
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    await app?.close();
    await queue?.close();
  });

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SHOTS, `${dialect}-${name}.png`), fullPage: true });

  /** A fresh browser tab already signed in with `token` (as the login form leaves it). */
  const signedIn = async (token: string): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    // Browser code is passed as text: the root tsconfig has no DOM types.
    await context.addInitScript(`sessionStorage.setItem('autodev.token', ${JSON.stringify(token)})`);
    const page = await context.newPage();
    page.on('pageerror', (error) => console.error('page error:', error.message));
    return page;
  };

  it('signs in with a token, refuses a bad one clearly, and renders the overview quickly', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(base + '/');
    await page.getByLabel('API token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), { timeout: LIVE_MS }).toContain('not valid');
    await shot(page, 'login-bad-token');

    await page.getByLabel('API token').fill(tokens.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByText('No agents have run yet').waitFor();
    expect(await page.getByText('autodev up').count()).toBeGreaterThan(0);

    // First render of the overview with a stored token: navigation start to the agents section filled in.
    const started = Date.now();
    await page.reload();
    await page.getByText('No agents have run yet').waitFor();
    const firstRenderMs = Date.now() - started;
    const paint = await page.evaluate(
      () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    );
    console.log(`[${dialect}] overview rendered with data in ${firstRenderMs} ms (first contentful paint ${paint} ms)`);
    expect(firstRenderMs).toBeLessThan(5_000);
    await shot(page, 'overview-empty');
  });

  it("shows an agent's status change live, without a reload", async () => {
    const now = Date.now();
    await registerAgent(t.handle.db, { instanceId: 'builder-1', role: 'builder', now });
    const task = await queue.enqueue({ type: 'write_spec', createdBy: 'test' });
    const page = await signedIn(tokens.admin);
    await page.goto(base + '/');
    const row = page.getByTestId('agent-builder-1');
    await expect.poll(() => row.textContent(), { timeout: LIVE_MS }).toContain('idle');
    await page.getByText('● live').waitFor();
    await page.evaluate('window.__sameDocument = true');

    await setAgentStatus(t.handle.db, 'builder-1', {
      status: 'working',
      currentTaskId: task.id,
      provider: 'claude',
      now: Date.now(),
    });
    await expect.poll(() => row.textContent(), { timeout: LIVE_MS }).toContain('working');
    expect(await row.textContent()).toContain(`#${task.id}`);
    expect(await row.textContent()).toContain('claude');
    // Same document: the page changed without a reload.
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    await expect.poll(() => page.getByTestId('count-pending').textContent(), { timeout: LIVE_MS }).toBe('1');
    await shot(page, 'overview-live');
  });

  it("streams a running session's transcript while the page is open", async () => {
    const task = await queue.enqueue({ type: 'write_spec', payload: { idea: 'a todo app' }, createdBy: 'test' });
    const sessionId = await startSession(t.handle.db, {
      taskId: task.id,
      role: 'pm',
      agentInstanceId: 'pm-1',
      provider: 'claude',
      model: 'sonnet',
      now: Date.now(),
    });
    await appendTranscript(t.handle.db, sessionId, [
      { seq: 0, kind: 'message', data: { text: 'Reading the **idea** first.' }, at: Date.now() },
    ]);
    const page = await signedIn(tokens.admin);
    await page.goto(`${base}/tasks/${task.id}`);
    await page.getByRole('link', { name: `Session ${sessionId}` }).waitFor();
    await shot(page, 'task');
    await page.getByRole('link', { name: `Session ${sessionId}` }).click();
    await page.getByText('Reading the').waitFor();

    await appendTranscript(t.handle.db, sessionId, [
      { seq: 1, kind: 'tool_call', data: { name: 'read_file', input: { path: 'README.md' } }, at: Date.now() },
      { seq: 2, kind: 'command', data: { command: 'npm test' }, at: Date.now() },
    ]);
    await page.getByText('$ npm test').waitFor({ timeout: LIVE_MS });
    await appendTranscript(t.handle.db, sessionId, [
      { seq: 3, kind: 'file_change', data: { path: 'docs/spec.md', change: 'added' }, at: Date.now() },
    ]);
    await page.getByText('docs/spec.md').first().waitFor({ timeout: LIVE_MS });
    expect(await page.locator('.transcript > li').count()).toBe(4);
    await shot(page, 'session-live');
  });

  it('gives a viewer no cancel or instruct controls, and the API refuses the viewer with 403', async () => {
    const task = await queue.enqueue({ type: 'write_spec', createdBy: 'test' });
    const page = await signedIn(tokens.viewer);
    await page.goto(`${base}/tasks/${task.id}`);
    await page.getByRole('heading', { name: new RegExp(`Task #${task.id}`) }).waitFor();
    expect(await page.getByRole('button', { name: /cancel/i }).count()).toBe(0);
    await shot(page, 'task-viewer');
    await page.goto(`${base}/instructions`);
    await page.getByText('Your token is a viewer token').waitFor();
    expect(await page.getByRole('button', { name: /send instruction/i }).count()).toBe(0);

    const status = await page.evaluate(
      async ({ id, token }) => {
        const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
        const cancel = await fetch(`/api/tasks/${id}/cancel`, { method: 'POST', headers, body: '{}' });
        const instruct = await fetch('/api/agents/builder/instructions', {
          method: 'POST',
          headers,
          body: JSON.stringify({ message: 'hi' }),
        });
        return [cancel.status, instruct.status];
      },
      { id: task.id, token: tokens.viewer },
    );
    expect(status).toEqual([403, 403]);

    // The admin sees the controls and they work.
    const admin = await signedIn(tokens.admin);
    await admin.goto(`${base}/instructions`);
    await admin.getByPlaceholder("What the role's next session should know or do").fill('Prefer small commits.');
    await admin.getByRole('button', { name: 'Send instruction' }).click();
    await admin.getByRole('cell', { name: 'Prefer small commits.' }).waitFor({ timeout: LIVE_MS });
    await admin.getByText('waiting for the next builder session').waitFor();
    await shot(admin, 'instructions');
    await admin.goto(`${base}/tasks/${task.id}`);
    await admin.getByRole('button', { name: 'Cancel task' }).click();
    await admin.getByRole('button', { name: 'Retry task' }).waitFor({ timeout: LIVE_MS });
  });

  it('runs nothing from a planted spec: no script, no javascript: links, no event handlers', async () => {
    const task = await queue.enqueue({
      type: 'write_spec',
      payload: { spec: XSS_SPEC, title: '<img src=x onerror="window.__pwned=\'title\'">' },
      createdBy: 'test',
    });
    const sessionId = await startSession(t.handle.db, {
      taskId: task.id,
      role: 'pm',
      agentInstanceId: null,
      provider: 'claude',
      model: null,
      now: Date.now(),
    });
    await appendTranscript(t.handle.db, sessionId, [
      { seq: 0, kind: 'message', data: { text: XSS_SPEC }, at: Date.now() },
    ]);
    const page = await signedIn(tokens.admin);
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });

    for (const url of [`/tasks/${task.id}`, `/sessions/${sessionId}`]) {
      await page.goto(base + url);
      await page.getByText('Spec with hostile content').first().waitFor();
      await page.getByRole('link', { name: 'real link' }).first().waitFor();
      // Click every link the hostile text produced: none may run anything.
      for (const link of await page.locator('.markdown a').all())
        await link.click({ modifiers: ['Shift'] }).catch(() => undefined);
      const found = await page.evaluate(`({
        pwned: window.__pwned ?? null,
        javascriptHrefs: [...document.querySelectorAll('[href],[src]')].filter((el) =>
          /^\\s*javascript:/i.test(el.getAttribute('href') ?? el.getAttribute('src') ?? ''),
        ).length,
        handlers: [...document.querySelectorAll('*')].filter((el) =>
          [...el.attributes].some((attribute) => attribute.name.startsWith('on')),
        ).length,
        scriptsInContent: document.querySelectorAll('main script, main iframe').length,
      })`);
      expect(found).toEqual({ pwned: null, javascriptHrefs: 0, handlers: 0, scriptsInContent: 0 });
      expect(await page.getByRole('link', { name: 'real link' }).first().getAttribute('href')).toBe(
        'https://example.com/docs',
      );
    }
    expect(dialogs).toEqual([]);
    await page.evaluate('window.getSelection()?.removeAllRanges()');
    await shot(page, 'session-hostile');
  });

  it('shows empty states that say what to do, and the swarm page as not available yet', async () => {
    const page = await signedIn(tokens.admin);
    await page.goto(`${base}/tasks`);
    await page.getByText('No tasks yet').waitFor();
    await shot(page, 'tasks-empty');
    await queue.enqueue({ type: 'write_spec', createdBy: 'test' });
    await queue.enqueue({ type: 'implement_feature', priority: 8, createdBy: 'test' });
    await expect.poll(() => page.getByRole('link', { name: /^#\d+$/ }).count(), { timeout: LIVE_MS }).toBe(2);
    await shot(page, 'tasks');
    await page.goto(`${base}/repos`);
    await page.getByText('autodev repos add PATH').waitFor();
    await shot(page, 'repos-empty');
    await page.goto(`${base}/approvals`);
    await page.getByText('No pending approvals').waitFor();
    await page.goto(`${base}/swarm`);
    await page.getByRole('heading', { name: 'Swarm' }).waitFor();
    await page.getByText('Not available yet').waitFor();
    await shot(page, 'swarm-not-available');
  });

  it('lists a pending approval with its sanitized body; only approvers get the decision buttons', async () => {
    const now = Date.now();
    await t.handle.db
      .insertInto('approvals')
      .values({
        kind: 'spec',
        status: 'pending',
        subject_type: 'task',
        subject_id: '1',
        title: 'Spec for the todo app',
        body: XSS_SPEC,
        workflow_id: null,
        decided_by: null,
        reason: null,
        decided_at: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    const viewer = await signedIn(tokens.viewer);
    await viewer.goto(`${base}/approvals`);
    await viewer.getByText('Spec for the todo app').waitFor();
    await viewer.getByText('Spec with hostile content').waitFor();
    expect(await viewer.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await viewer.evaluate('window.__pwned ?? null')).toBeNull();
    expect(await viewer.locator('a[href^="javascript:" i]').count()).toBe(0);

    const admin = await signedIn(tokens.admin);
    await admin.goto(`${base}/approvals`);
    await admin.getByRole('button', { name: 'Approve' }).waitFor();
    expect(await admin.getByRole('button', { name: 'Reject' }).isDisabled()).toBe(true);
    await shot(admin, 'approvals');
  });

  it('adds a repository, edits its test command and removes it', async () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-web-repo-'));
    try {
      const repo = makeGitRepo(parent, `web-repo-${dialect}`);
      const page = await signedIn(tokens.admin);
      page.on('dialog', (dialog) => void dialog.accept());
      await page.goto(`${base}/repos`);
      const form = page.getByTestId('add-repo');
      await form.locator('input[name="path"]').fill(repo.path);
      await form.locator('input[name="test_command"]').fill('npm test');
      await form.locator('input[name="lint_command"]').fill('npx eslint .');
      await form.getByRole('button', { name: 'Add' }).click();
      const row = page.getByTestId(`repo-web-repo-${dialect}`);
      await row.getByText('npm test · npx eslint . · —').waitFor();
      await shot(page, 'repos-added');

      await row.getByRole('button', { name: 'Edit' }).click();
      await row.locator('input[name="edit-test_command"]').fill('npx vitest run');
      await row.getByRole('button', { name: 'Save' }).click();
      await row.getByText('npx vitest run · npx eslint . · —').waitFor();
      await shot(page, 'repos-edited');
      const listed = await t.handle.db.selectFrom('repositories').selectAll().execute();
      expect(listed).toEqual([
        expect.objectContaining({ test_command: 'npx vitest run', lint_command: 'npx eslint .' }),
      ]);

      await row.getByRole('button', { name: 'Remove' }).click();
      await page.getByText('No repositories yet').waitFor();
      await shot(page, 'repos-removed');
      expect(await t.handle.db.selectFrom('repositories').selectAll().execute()).toEqual([]);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  it('approve a spec and reject a merge with a reason, and see the workflow move', async () => {
    const deps = { queue, maxFixRounds: 3 };
    const complete = async (type: string, result: unknown) => {
      const task = await queue.claim('w1', [type]);
      if (!task) throw new Error(`no pending ${type} task`);
      await t.handle.db.transaction().execute(async (tx) => {
        await queue.complete({ taskId: task.id, workerId: 'w1' }, result, tx);
        await onWorkflowTaskCompleted(tx, deps, task, result, 'w1');
      });
    };
    const wf = await startStoryWorkflow(t.handle.db, deps, {
      title: 'Add sum',
      body: 'Sum two numbers',
      repoId: null,
      createdBy: 'test',
    });
    await complete('create_user_story', {
      status: 'done',
      summary: 's',
      title: 'Add sum',
      body: 'B',
      acceptance_criteria: ['works'],
    });
    await complete('write_spec', {
      status: 'done',
      summary: 's',
      spec_markdown: '# Sum spec',
      files_to_touch: ['a.ts'],
      test_plan: 't',
      risks: [],
    });
    const page = await signedIn(tokens.admin);
    await page.goto(`${base}/approvals`);
    const spec = page.locator('section.approval', { hasText: /#\d+ spec:/ });
    await spec.getByRole('button', { name: 'Approve' }).click();
    await page.getByText('Decided just now').waitFor({ timeout: LIVE_MS });
    await spec.getByText('approved by api:admin').waitFor({ timeout: LIVE_MS });
    await page
      .getByTestId(`workflow-${wf.id}`)
      .getByText('stage implement', { exact: false })
      .waitFor({ timeout: LIVE_MS });
    await shot(page, 'approval-spec-approved');
    const builder = await t.handle.db
      .selectFrom('tasks')
      .select('type')
      .where('workflow_id', '=', wf.id)
      .where('status', '=', 'pending')
      .execute();
    expect(builder.map((r) => r.type)).toEqual(['implement_feature']);

    await complete('implement_feature', {
      status: 'done',
      summary: 's',
      branch: 'autodev/1-sum',
      commits: [{ sha: 'aaaaaaa', message: 'm' }],
      files_changed: ['a.ts'],
    });
    await complete('review_mr', { status: 'done', summary: 's', verdict: 'approve', findings: [] });
    await complete('run_tests', {
      status: 'done',
      summary: 's',
      command: 'npm test',
      passed: 3,
      failed: 0,
      skipped: 0,
      failures: [],
    });
    await complete('security_scan', { status: 'done', summary: 's', verdict: 'pass', findings: [] });
    const merge = page.locator('section.approval', { hasText: /#\d+ merge:/ });
    await merge.getByRole('button', { name: 'Reject' }).waitFor({ timeout: LIVE_MS });
    expect(await merge.getByRole('button', { name: 'Reject' }).isDisabled()).toBe(true);
    const mergeId = Number((await merge.getAttribute('data-testid'))?.replace('approval-', ''));
    const refused = await page.evaluate(
      `fetch('/api/approvals/${mergeId}/reject', { method: 'POST', headers: { authorization: 'Bearer ' + sessionStorage.getItem('autodev.token'), 'content-type': 'application/json' }, body: '{}' }).then((r) => r.status)`,
    );
    expect(refused).toBe(400);
    await merge.getByPlaceholder(/Reason/).fill('add docs');
    await merge.getByRole('button', { name: 'Reject' }).click();
    await merge.getByText('rejected by api:admin').waitFor({ timeout: LIVE_MS });
    await merge.getByText('Reason: add docs').waitFor();
    await expect
      .poll(() => page.getByTestId(`workflow-${wf.id}`).filter({ hasText: 'stage implement' }).count(), {
        timeout: LIVE_MS,
      })
      .toBe(2);
    await shot(page, 'approval-merge-rejected');
    const fix = await queue.claim('w1', ['implement_fix']);
    expect(fix?.payload).toMatchObject({ findings: ['merge rejected: add docs'] });
    const row = await t.handle.db.selectFrom('workflows').selectAll().where('id', '=', wf.id).executeTakeFirstOrThrow();
    expect(row.stage).toBe('implement');
  });
});
