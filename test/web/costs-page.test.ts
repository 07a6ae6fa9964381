/**
 * The `/costs` page in a real browser (Debian Chromium through playwright-core) at 390 px: totals and the grouped
 * table from `GET /api/costs`, switching the grouping, nothing wider than the phone. Needs `npm run build:web`
 * first; saves a screenshot under test-results/web/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { createApiToken } from '../../src/server/api-tokens.js';
import { buildServer } from '../../src/server/build-server.js';
import { ONE_DIALECT, useTestDatabase } from '../support/dialects.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WEB_DIST = path.join(ROOT, 'web', 'dist');
const SHOTS = path.join(ROOT, 'test-results', 'web');
const PHONE = { width: 390, height: 844 };

describe.each(ONE_DIALECT)('%s: costs page in Chromium', { timeout: 90_000 }, (dialect) => {
  const t = useTestDatabase(dialect);
  let app: FastifyInstance;
  let queue: TaskQueue;
  let browser: Browser;
  let base: string;

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
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    base = `http://127.0.0.1:${address.port}`;
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await queue?.close();
  });

  it('shows totals and the cost by role, then by provider, within a 390 px phone', async () => {
    const now = Date.now();
    const session = (role: string, provider: string, cost: number) => ({
      role,
      provider,
      status: 'succeeded' as const,
      tokens_in: 12_000,
      tokens_out: 3_000,
      tokens_cache: 0,
      cost_usd: cost,
      started_at: now,
    });
    await t.handle.db
      .insertInto('sessions')
      .values([
        session('builder', 'claude', 1.5),
        session('builder', 'codex', 0.5),
        session('reviewer', 'claude', 0.25),
      ])
      .execute();
    const token = await createApiToken(t.handle.db, { name: 'phone', role: 'viewer', now });
    const context = await browser.newContext({ viewport: PHONE });
    try {
      await context.addInitScript(`sessionStorage.setItem('autodev.token', ${JSON.stringify(token)})`);
      const page = await context.newPage();
      await page.goto(`${base}/costs`);
      const totals = page.getByLabel('Totals');
      await totals.waitFor();
      expect(await totals.innerText()).toBe('$2.25 over 3 sessions, 45,000 tokens');
      const rows = page.locator('table.costs tbody tr');
      await expect
        .poll(() => rows.allInnerTexts())
        .toEqual(['builder\t2\t30,000\t$2.00', 'reviewer\t1\t15,000\t$0.25']);
      // Nothing on the page is wider than the phone.
      expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(PHONE.width);
      await page.screenshot({ path: path.join(SHOTS, `${dialect}-costs-phone.png`), fullPage: true });

      await page.getByLabel('Group by').selectOption('provider');
      await expect.poll(() => rows.allInnerTexts()).toEqual(['claude\t2\t30,000\t$1.75', 'codex\t1\t15,000\t$0.50']);
      expect(new URL(page.url()).search).toBe('?by=provider');
    } finally {
      await context.close();
    }
  });
});
