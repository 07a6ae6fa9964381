/**
 * @module The product pipeline in the dashboard, in a real browser (Debian Chromium through playwright-core) against a
 * real server and a test database (one engine: the SQL is the API's, tested on both in test/server/). Projects and
 * their approvals are seeded as rows (test/support/project-fixtures.ts); the product directory is a real one under
 * the data directory. A publishing approval's card shows the rendered listings, the file tree, the npm package and
 * each publisher's plan, at desktop width and at 390 px; the projects page lists a proposal, shows its detail, and
 * approving, rejecting and deferring from it change its status. Screenshots are kept under test-results/web/.
 * Needs `npm run build:web` first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/server/api-tokens.js';
import { ONE_DIALECT, useTestDatabase } from '../support/dialects.js';
import { LIVE_MS, PHONE, useBrowserDashboard } from '../support/browser-dashboard.js';
import { proposeProject, seedProject, seedProjectApproval } from '../support/project-fixtures.js';
import { writeProductDir } from '../support/publish/product-fixture.js';

describe.each(ONE_DIALECT)('%s: projects and publishing in Chromium', { timeout: 120_000 }, (dialect) => {
  const t = useTestDatabase(dialect);
  let token: string;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-web-projects-'));
  const web = useBrowserDashboard(t, {
    dialect,
    // The real environment secret provider: an npm token is set, the other targets' are not.
    server: () => ({ dataDir, env: { NPM_TOKEN: 'canary-npm-web-4b7e1f0a' } }),
  });
  // The test database is emptied before each test: a fresh token each time.
  beforeEach(async () => {
    token = await createApiToken(t.handle.db, { name: 'lead', role: 'approver', now: Date.now() });
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const signedIn = (viewport?: { width: number; height: number }) => web.signedIn(token, viewport);
  const { shot, overflowing } = web;

  it("shows a publishing approval's listings, files, npm package and plans, at desktop width and at 390 px", async () => {
    const product = writeProductDir({ dataDir });
    const projectId = await seedProject(t.handle.db, {
      name: product.name,
      title: product.title,
      status: 'awaiting_publish',
      targets: ['npm', 'github_release', 'gumroad', 'vercel', 'apify'],
      productDir: product.dir,
    });
    const approvalId = await seedProjectApproval(t.handle.db, projectId, 'publish', `Publish ${product.title}`);

    for (const [viewport, name] of [
      [{ width: 1400, height: 900 }, 'publish-approval'],
      [PHONE, 'publish-approval-phone'],
    ] as const) {
      const page = await signedIn(viewport);
      await page.goto(`${web.base}/approvals?status=pending`);
      const card = page.getByTestId(`approval-${approvalId}`);
      const preview = card.getByTestId(`preview-${approvalId}`);
      await preview.waitFor({ timeout: LIVE_MS });
      // The README is rendered (a heading, not "# ..." text); the other listings open on a click.
      await preview.getByTestId('listing-all').getByRole('heading', { name: product.title }).waitFor();
      await preview.getByTestId('listing-gumroad').locator('summary').click();
      await preview.getByTestId('listing-gumroad').getByText('Everything you need to count words.').waitFor();
      // The file tree with sizes: directories and files of the product.
      const tree = preview.getByTestId('product-files');
      await tree.getByText('product.json').waitFor();
      await tree.getByText('style.css').waitFor();
      expect(await tree.textContent()).toMatch(/index\.js\d+ B/);
      // The npm package's contents (npm pack's list) and what npm will send.
      const npm = preview.getByTestId('npm-contents');
      await npm.getByText('index.js').first().waitFor();
      const npmPlan = preview.getByTestId('plan-npm');
      await npmPlan.getByText('npm/token', { exact: true }).waitFor();
      expect(await npmPlan.textContent()).not.toContain('missing');
      expect(await npmPlan.textContent()).toContain('registry.npmjs.org');
      // Every publisher, secrets by name, the store's missing ones flagged; no secret value on the page.
      for (const target of ['github_release', 'gumroad', 'vercel', 'apify']) {
        await preview
          .getByTestId(`plan-${target}`)
          .getByText(/missing: publishing/)
          .waitFor();
      }
      await preview
        .getByRole('alert')
        .getByText(/lacks .*vercel\/token/)
        .waitFor();
      expect(await page.content()).not.toContain('canary-npm-web');
      await card.getByRole('button', { name: 'Approve' }).waitFor();
      await card.getByRole('button', { name: 'Reject' }).waitFor();
      expect(await overflowing(page)).toEqual([]);
      await shot(page, name);
    }
  });

  it('lists a proposal, shows its detail, and approves, rejects and defers proposals from the page (390 px too)', async () => {
    const ids = {
      approve: await proposeProject(web.queue, { name: 'word-count', title: 'Word count', estimatedTokens: 180_000 }),
      reject: await proposeProject(web.queue, { name: 'todo-app', title: 'Yet another todo app' }),
      defer: await proposeProject(web.queue, { name: 'pdf-tools', title: 'PDF tools' }),
    };
    const statusOf = async (id: number) =>
      (
        await t.handle.db
          .selectFrom('projects')
          .select('status')
          .where('workflow_id', '=', id)
          .executeTakeFirstOrThrow()
      ).status;

    const page = await signedIn();
    await page.goto(`${web.base}/projects`);
    const row = page.getByTestId(`project-${ids.approve}`);
    await row.getByText('Word count').waitFor({ timeout: LIVE_MS });
    await row.locator('.badge', { hasText: 'proposed' }).waitFor();
    expect(await row.textContent()).toMatch(/market 7.*feasibility 9.*effort 8.*risk 6/);
    expect(await row.textContent()).toContain('180,000 tokens');
    // The status filter: nothing is rejected yet.
    await page.getByLabel('Status').selectOption('rejected');
    await page.getByText('No rejected projects').waitFor({ timeout: LIVE_MS });
    await page.getByLabel('Status').selectOption('');
    await shot(page, 'projects-list');

    // The detail: problem, audience, rendered spec, the ratings with reasons; approve it.
    await page.getByTestId(`project-${ids.approve}`).getByRole('link').click();
    await page.getByRole('heading', { name: /Word count/ }).waitFor({ timeout: LIVE_MS });
    await page.getByText('Writers count words by hand.').waitFor();
    await page.getByText('Bloggers and students.').waitFor();
    await page.locator('.markdown').getByRole('heading', { name: 'Spec' }).waitFor();
    await page.getByTestId('ratings').getByText('Writers want word counts everywhere').waitFor();
    // Who rated what: the PM the market, the Architect the rest; the Architect's estimate and concerns.
    expect(await page.getByTestId('rating-market').textContent()).toMatch(/7\/10 by PM/);
    expect(await page.getByTestId('rating-risk').textContent()).toMatch(/6\/10 by Architect/);
    const assessment = page.getByTestId('assessment');
    await assessment.getByText('Word boundaries differ between languages').waitFor();
    expect(await assessment.textContent()).toMatch(/feasible by architect-1.*half a day of agent work/);
    await shot(page, 'project-detail');
    await page.getByTestId('decide-project').getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => statusOf(ids.approve), { timeout: LIVE_MS }).not.toBe('proposed');
    await page.getByTestId('decide-project').waitFor({ state: 'detached', timeout: LIVE_MS });
    await page.getByTestId('decisions').getByText('approved').waitFor({ timeout: LIVE_MS });

    // Reject needs a reason, from a 390 px wide phone.
    const phone = await signedIn(PHONE);
    await phone.goto(`${web.base}/projects/${ids.reject}`);
    const decide = phone.getByTestId('decide-project');
    await decide.waitFor({ timeout: LIVE_MS });
    expect(await decide.getByRole('button', { name: 'Reject' }).isDisabled()).toBe(true);
    expect(await overflowing(phone)).toEqual([]);
    await shot(phone, 'project-detail-phone');
    await decide.getByLabel('Reason to reject').fill('The market is crowded');
    await decide.getByRole('button', { name: 'Reject' }).click();
    await phone.getByTestId('decisions').getByText('The market is crowded').waitFor({ timeout: LIVE_MS });
    expect(await statusOf(ids.reject)).toBe('rejected');

    // Defer with notes and a date: it comes back then.
    await phone.goto(`${web.base}/projects/${ids.defer}`);
    await phone.getByTestId('decide-project').waitFor({ timeout: LIVE_MS });
    await phone.getByLabel('Notes to defer').fill('After the PDF spec settles');
    await phone.getByLabel('Bring back on').fill('2030-01-15');
    await phone.getByRole('button', { name: 'Defer' }).click();
    await phone.getByTestId('decisions').getByText('After the PDF spec settles').waitFor({ timeout: LIVE_MS });
    const deferred = await t.handle.db
      .selectFrom('projects')
      .select(['status', 'deferred_until'])
      .where('workflow_id', '=', ids.defer)
      .executeTakeFirstOrThrow();
    expect(deferred.status).toBe('deferred');
    expect(new Date(Number(deferred.deferred_until)).getFullYear()).toBe(2030);
    expect(await overflowing(phone)).toEqual([]);
    await shot(phone, 'project-deferred-phone');
    // And back by hand before its date.
    await phone.getByTestId('bring-back').getByRole('button', { name: 'Bring back now' }).click();
    await phone.getByTestId('decide-project').waitFor({ timeout: LIVE_MS });
    await phone.getByTestId('decisions').getByText('brought back').waitFor({ timeout: LIVE_MS });
    expect(await statusOf(ids.defer)).toBe('proposed');

    // The list follows: each status shows (the deferred one is back to proposed).
    await page.goto(`${web.base}/projects`);
    await page
      .getByTestId(`project-${ids.reject}`)
      .locator('.badge', { hasText: 'rejected' })
      .waitFor({ timeout: LIVE_MS });
    await page.getByTestId(`project-${ids.defer}`).locator('.badge', { hasText: 'proposed' }).waitFor();
    await shot(page, 'projects-after-decisions');
  });

  it('links a project approval to its project page, where a viewer gets no buttons', async () => {
    const projectId = await seedProject(t.handle.db, { name: 'linked-proposal', title: 'Linked proposal' });
    const approvalId = await seedProjectApproval(t.handle.db, projectId, 'project', 'Build Linked proposal?');
    const page = await signedIn();
    await page.goto(`${web.base}/approvals?status=pending`);
    const card = page.getByTestId(`approval-${approvalId}`);
    await card.getByRole('link', { name: /Open project/ }).click();
    expect(new URL(page.url()).pathname).toBe(`/projects/${projectId}`);
    await page.getByTestId('decide-project').waitFor({ timeout: LIVE_MS });

    // A viewer sees the proposal but no buttons.
    token = await createApiToken(t.handle.db, { name: 'grafana', role: 'viewer', now: Date.now() });
    const viewer = await signedIn();
    await viewer.goto(`${web.base}/projects/${projectId}`);
    await viewer.getByTestId('ratings').waitFor({ timeout: LIVE_MS });
    expect(await viewer.getByTestId('decide-project').count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Approve' }).count()).toBe(0);
  });
});
