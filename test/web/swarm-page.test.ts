/**
 * @module The swarm page in a real browser (Debian Chromium through playwright-core) against a real server on a test
 * database: an approver posts a thread and replies under it, proposes, votes (a second vote is refused with the
 * server's message), approves a proposal (its story starts on a real git repository and is linked) and rejects one
 * with a reason that stays on the card; a viewer sees no controls. On one engine (ONE_DIALECT): the swarm's SQL runs on
 * both in test/server/swarm.test.ts and swarm-write.test.ts. Needs `npm run build:web` first; saves
 * screenshots under test-results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/server/api-tokens.js';
import { makeGitRepo, registerRepo } from '../support/agent-fixtures.js';
import { ONE_DIALECT, useTestDatabase } from '../support/dialects.js';
import { LIVE_MS, useBrowserDashboard } from '../support/browser-dashboard.js';

describe.each(ONE_DIALECT)('%s: swarm page in Chromium', { timeout: 90_000 }, (dialect) => {
  const t = useTestDatabase(dialect);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-swarm-web-'));
  const web = useBrowserDashboard(t, { dialect });
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
  const signedIn = (token: string) => web.signedIn(token, { width: 1280, height: 900 });

  it('posts, replies, proposes, votes once, approves into a linked story and rejects with a kept reason', async () => {
    const now = Date.now();
    const approver = await createApiToken(t.handle.db, { name: 'ann', role: 'approver', now });
    const viewer = await createApiToken(t.handle.db, { name: 'wallboard', role: 'viewer', now });
    const repo = makeGitRepo(scratch, 'shop');
    await registerRepo(t.handle.db, { name: 'shop', location: repo.path });

    const page = await signedIn(approver);
    await page.goto(`${web.base}/swarm`);
    await page.getByText('No discussions yet').waitFor();

    // A new thread, then a reply under it.
    const post = page.getByRole('form', { name: 'New message' });
    await post.getByLabel('Topic').fill('repo:shop');
    await post.getByLabel('Message').fill('Should we add **CSV export**?');
    await post.getByRole('button', { name: 'Post' }).click();
    // Wait for the posted message's own control, not its text: React keeps a controlled textarea's text content equal
    // to what was typed, so the text alone is on the page before the post is (the flake this once was under load).
    await page.getByRole('button', { name: /^Reply to message \d+$/ }).waitFor({ timeout: LIVE_MS });
    const [thread] = await t.handle.db.selectFrom('discussions').selectAll().execute();
    expect(thread).toMatchObject({ topic: 'repo:shop', author: 'api:ann', author_kind: 'human', reply_to: null });
    await page.getByRole('button', { name: `Reply to message ${thread!.id}` }).click();
    const replyForm = page.getByRole('form', { name: `Reply to message ${thread!.id}` });
    await replyForm.getByLabel('Reply').fill('Yes, users asked twice.');
    await replyForm.getByRole('button', { name: 'Send reply' }).click();
    const replies = page.getByRole('list', { name: `Replies to message ${thread!.id}` });
    await replies.getByText('Yes, users asked twice.').waitFor({ timeout: LIVE_MS });

    // Two proposals through the form.
    for (const title of ['Add CSV export', 'Rewrite in Rust']) {
      await page.getByText('Propose something').click();
      const form = page.getByRole('form', { name: 'New proposal' });
      await form.getByLabel('Title').fill(title);
      await form.getByLabel('Why and what').fill(`Why: ${title}`);
      await form.getByLabel('Repository').fill('shop');
      await form.getByRole('button', { name: 'Propose' }).click();
      await page.locator('article.proposal', { hasText: title }).waitFor({ timeout: LIVE_MS });
      // The card can appear (live event) before the POST's answer, which clears the form: wait for that, so it does
      // not clear the next proposal's fields (the cause of an earlier flake).
      await expect.poll(() => form.getByLabel('Title').inputValue(), { timeout: LIVE_MS }).toBe('');
      await page.getByText('Propose something').click();
    }
    const csv = page.locator('article.proposal', { hasText: 'Add CSV export' });
    const rust = page.locator('article.proposal', { hasText: 'Rewrite in Rust' });

    // One vote per voter: the second is refused with the server's message.
    await csv.getByRole('button', { name: '▲ Vote up' }).click();
    await csv.getByText('▲ 1 for').waitFor({ timeout: LIVE_MS });
    await csv.getByRole('button', { name: '▼ Vote down' }).click();
    await expect.poll(() => csv.getByRole('alert').textContent(), { timeout: LIVE_MS }).toContain('already voted');
    await csv.getByText('▼ 0 against').waitFor();

    // Approve: the story starts, linked from the card and back from the story.
    await csv.getByRole('button', { name: 'Approve' }).click();
    await csv.getByText(/approved by api:ann/).waitFor({ timeout: LIVE_MS });
    const story = await t.handle.db.selectFrom('workflows').selectAll().executeTakeFirstOrThrow();
    expect(story).toMatchObject({ title: 'Add CSV export', kind: 'story' });
    await csv.getByRole('link', { name: `story #${story.id}` }).waitFor();
    const proposal = await t.handle.db
      .selectFrom('proposals')
      .selectAll()
      .where('title', '=', 'Add CSV export')
      .executeTakeFirstOrThrow();
    expect(story.proposal_id).toBe(proposal.id);
    expect(proposal.workflow_id).toBe(story.id);

    // Reject needs a reason, which stays on the card.
    expect(await rust.getByRole('button', { name: 'Reject' }).isDisabled()).toBe(true);
    await rust.getByLabel(/^Reason for proposal/).fill('Not worth a rewrite now');
    await rust.getByRole('button', { name: 'Reject' }).click();
    await rust.getByText(/rejected by api:ann .* reason: Not worth a rewrite now/).waitFor({ timeout: LIVE_MS });
    await web.shot(page, 'swarm-decided');

    // A viewer reads all of it and gets no controls.
    const wallboard = await signedIn(viewer);
    await wallboard.goto(`${web.base}/swarm`);
    await wallboard.getByText('Yes, users asked twice.').waitFor();
    await wallboard.getByText(/reason: Not worth a rewrite now/).waitFor();
    expect(await wallboard.getByRole('form', { name: 'New message' }).count()).toBe(0);
    expect(await wallboard.getByRole('button', { name: /^Reply to/ }).count()).toBe(0);
    expect(await wallboard.getByText('Propose something').count()).toBe(0);
  });
});
