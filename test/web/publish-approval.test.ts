/**
 * @module The publishing approval clicked in a real browser (Debian Chromium through playwright-core) against a real
 * server, a test database (one engine: the SQL is the API's and the workflow's, tested on both in test/server/ and
 * test/workflow/) and a real local Verdaccio 6.8.0 (npm's registry is what this machine cannot reach). A product gets
 * there through the product workflow itself: the PM's proposal and the Architect's assessment (results standing for
 * the agents', checked against their contracts), the project approved, the deterministic `create_project_repo`
 * making its repository under `<data-dir>/projects/<name>/`, the product files committed there, and the story
 * building it standing done (`story_completed`: the story pipeline itself runs in test/workflow/product-pipeline),
 * after which the workflow checks the product directory and opens the publishing approval. The approval queue shows
 * its card (rendered listing, file tree, npm package contents, what npm will send, the cached preview); a human
 * clicks Approve, `publish_product` runs in a DevOps worker and publishes to Verdaccio, and the page shows the
 * published URL. A Reject click keeps the reason and publishes nothing. Needs `npm run build:web` first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agentDeadLetterHook } from '../../src/agents/agent-supervisor.js';
import { createAgentTaskHandler, type AgentRuntimeDeps } from '../../src/agents/run-agent-task.js';
import { runWorker } from '../../src/queue/run-worker.js';
import { createApiToken } from '../../src/server/api-tokens.js';
import { advanceWorkflow } from '../../src/workflow/advance-workflow.js';
import { approveProject } from '../../src/workflow/project-decisions.js';
import { projectDetail } from '../../src/workflow/projects.js';
import { workflowDeps } from '../../src/workflow/workflow-deps.js';
import { git } from '../../src/workspace/git.js';
import { ONE_DIALECT, useTestDatabase } from '../support/dialects.js';
import { LIVE_MS, useBrowserDashboard } from '../support/browser-dashboard.js';
import { proposeProject } from '../support/project-fixtures.js';
import { startVerdaccio, type Verdaccio } from '../support/publish/verdaccio.js';
import { runtimeDeps } from '../workflow/pipeline-fixtures.js';

let verdaccio: Verdaccio;
let npmToken: string;
beforeAll(async () => {
  verdaccio = await startVerdaccio();
  npmToken = await verdaccio.addUser('devops', 'devops-password-1');
});
afterAll(async () => {
  await verdaccio?.stop();
});

/** The builder's product files (npm only), in the guide's layout. */
function productFiles(name: string): Record<string, string> {
  return {
    'product.json': JSON.stringify({
      name,
      version: '1.0.0',
      title: `Word count ${name}`,
      summary: 'count(text), nothing else.',
      targets: { npm: { package_dir: 'package' } },
    }),
    'README.md': `# Word count ${name}\n\nCounts words.\n`,
    'NPM_README.md': `# ${name} on npm\n\nInstall it with \`npm install ${name}\`.\n`,
    'package/package.json': JSON.stringify({ name, version: '1.0.0', main: 'index.js' }),
    'package/index.js': 'exports.count = (s) => s.split(/\\s+/).filter(Boolean).length;\n',
  };
}

describe.each(ONE_DIALECT)('%s: the publishing approval clicked in Chromium', { timeout: 180_000 }, (dialect) => {
  const t = useTestDatabase(dialect);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-web-publish-'));
  const web = useBrowserDashboard(t, {
    dialect,
    server: () => ({ dataDir, env: { NPM_TOKEN: npmToken }, publishEndpoints: { npmRegistry: verdaccio.url } }),
  });
  let token: string;
  let counter = 0;
  beforeEach(async () => {
    token = await createApiToken(t.handle.db, { name: 'lead', role: 'approver', now: Date.now() });
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const runtime = (): AgentRuntimeDeps => ({
    ...runtimeDeps(web.queue, dataDir, { PATH: process.env.PATH, HOME: os.homedir(), NPM_TOKEN: npmToken }),
    publishEndpoints: { npmRegistry: verdaccio.url },
  });

  /** A DevOps worker loop runs one pending task of `type` (deterministic: no session) to its end. */
  async function runDevops(type: string): Promise<string> {
    const stop = new AbortController();
    let settled!: (outcome: string) => void;
    const ended = new Promise<string>((resolve) => (settled = resolve));
    const loop = runWorker({
      queue: web.queue,
      workerId: 'devops-1',
      types: [type],
      signal: stop.signal,
      idleWaitMs: 20,
      handler: createAgentTaskHandler(runtime(), 'devops'),
      onDeadLetter: agentDeadLetterHook(runtime(), 'devops-1'),
      onTaskEnd: (_task, outcome) => settled(outcome),
    });
    const outcome = await ended;
    stop.abort();
    await loop;
    return outcome;
  }

  /** A product through the workflow to its open publishing approval; returns the project, approval and name. */
  async function toPublishApproval() {
    counter += 1;
    const name = `word-count-${process.pid}-${counter}`;
    const deps = workflowDeps(web.queue, 3);
    const id = await proposeProject(web.queue, { name, title: `Word count ${counter}`, targets: ['npm'] });
    await approveProject(t.handle.db, deps, { id, actor: 'api:lead' });
    expect(await runDevops('create_project_repo')).toBe('completed');
    const building = await projectDetail(t.handle.db, id);
    const repoDir = path.join(dataDir, 'projects', name);
    for (const [file, content] of Object.entries(productFiles(name))) {
      fs.mkdirSync(path.dirname(path.join(repoDir, file)), { recursive: true });
      fs.writeFileSync(path.join(repoDir, file), content);
    }
    await git(repoDir, ['add', '-A']);
    await git(repoDir, ['commit', '--quiet', '-m', 'Product files'], { asAutodev: true });
    await advanceWorkflow(t.handle.db, deps, id, { type: 'story_completed', storyId: building.story_id! }, 'workflow');
    const ready = await projectDetail(t.handle.db, id);
    expect(ready).toMatchObject({ status: 'awaiting_publish', product_dir: repoDir });
    return { id, name, repoDir, approvalId: ready.publish_approval_id! };
  }

  it('shows the publish card, a click on Approve publishes to Verdaccio and the page shows the published URL', async () => {
    const { id, name, repoDir, approvalId } = await toPublishApproval();
    const page = await web.signedIn(token);
    await page.goto(`${web.base}/approvals?status=pending`);
    const card = page.getByTestId(`approval-${approvalId}`);
    const approve = card.getByRole('button', { name: 'Approve' });
    const preview = card.getByTestId(`preview-${approvalId}`);
    await preview.waitFor({ timeout: LIVE_MS });
    // The listing rendered (a heading, not "# ..."), the file tree, the package contents, what npm sends.
    await preview
      .getByTestId('listing-all')
      .getByRole('heading', { name: `Word count ${name}` })
      .waitFor();
    await preview.getByTestId('listing-npm').locator('summary').click();
    await preview
      .getByTestId('listing-npm')
      .getByRole('heading', { name: `${name} on npm` })
      .waitFor();
    await preview.getByTestId('product-files').getByText('product.json').waitFor();
    await preview.getByTestId('npm-contents').getByText('index.js').first().waitFor();
    const npmPlan = preview.getByTestId('plan-npm');
    expect(await npmPlan.textContent()).toContain(verdaccio.url);
    expect(await npmPlan.textContent()).not.toContain('missing');
    expect(await preview.getByTestId('preview-cache').textContent()).toMatch(/computed/);
    expect(await page.content()).not.toContain(npmToken);
    await web.shot(page, 'publish-card');

    // Reopening the card: the preview comes from the cache (the directory did not change).
    await page.reload();
    await card
      .getByTestId('preview-cache')
      .getByText(/from the cache/)
      .waitFor({ timeout: LIVE_MS });
    // The product changes while the card is open elsewhere: the next look says the preview is stale and Approve
    // waits, until the fresh preview (computed in the background) is in.
    fs.appendFileSync(path.join(repoDir, 'package', 'index.js'), '// counts words\n');
    await page.reload();
    await card.getByTestId('preview-stale').waitFor({ timeout: LIVE_MS });
    expect(await approve.isDisabled()).toBe(true);
    await web.shot(page, 'publish-card-stale');
    await card
      .getByTestId('preview-cache')
      .getByText(/from the cache/)
      .waitFor({ timeout: LIVE_MS });
    expect(await approve.isDisabled()).toBe(false);

    await approve.click();
    await card.getByTestId(`project-outcome-${id}`).waitFor({ timeout: LIVE_MS });
    await expect
      .poll(
        async () =>
          (await t.handle.db.selectFrom('tasks').select('id').where('type', '=', 'publish_product').execute()).length,
        {
          timeout: LIVE_MS,
        },
      )
      .toBe(1);
    expect(await runDevops('publish_product')).toBe('completed');

    // The page follows the live events: published, with the package's URL.
    const outcome = card.getByTestId(`project-outcome-${id}`);
    const link = outcome.getByRole('link', { name: new RegExp(name) });
    await link.waitFor({ timeout: LIVE_MS });
    const url = await link.getAttribute('href');
    expect(url).toContain(verdaccio.url);
    await outcome.locator('.badge', { hasText: 'published' }).first().waitFor();
    await web.shot(page, 'publish-approved');
    const registry = await fetch(`${verdaccio.url}${name}`, { headers: { authorization: `Bearer ${npmToken}` } });
    expect(((await registry.json()) as { versions: Record<string, unknown> }).versions).toHaveProperty('1.0.0');
    expect(await projectDetail(t.handle.db, id)).toMatchObject({
      status: 'published',
      publications: [expect.objectContaining({ target: 'npm', status: 'published', url })],
    });
  });

  it('a click on Reject keeps the reason and publishes nothing', async () => {
    const { id, name, approvalId } = await toPublishApproval();
    const page = await web.signedIn(token);
    await page.goto(`${web.base}/approvals?status=pending`);
    const card = page.getByTestId(`approval-${approvalId}`);
    await card.getByTestId(`preview-${approvalId}`).waitFor({ timeout: LIVE_MS });
    const reject = card.getByRole('button', { name: 'Reject' });
    expect(await reject.isDisabled()).toBe(true);
    await card.getByPlaceholder(/Reason/).fill('The README promises a CLI it does not ship');
    await reject.click();
    await card.getByText('Reason: The README promises a CLI it does not ship').waitFor({ timeout: LIVE_MS });
    await card.getByTestId(`project-outcome-${id}`).locator('.badge', { hasText: 'publish rejected' }).waitFor({
      timeout: LIVE_MS,
    });
    await web.shot(page, 'publish-rejected');
    const approval = await t.handle.db
      .selectFrom('approvals')
      .select(['status', 'reason', 'decided_by'])
      .where('id', '=', approvalId)
      .executeTakeFirstOrThrow();
    expect(approval).toEqual({
      status: 'rejected',
      reason: 'The README promises a CLI it does not ship',
      decided_by: 'api:lead',
    });
    expect((await projectDetail(t.handle.db, id)).status).toBe('publish_rejected');
    expect(await t.handle.db.selectFrom('tasks').select('id').where('type', '=', 'publish_product').execute()).toEqual(
      [],
    );
    const registry = await fetch(`${verdaccio.url}${name}`, { headers: { authorization: `Bearer ${npmToken}` } });
    expect(registry.status).toBe(404);
  });
});
