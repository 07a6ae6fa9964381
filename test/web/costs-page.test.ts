/**
 * The `/costs` page in a real browser (Debian Chromium through playwright-core) at 390 px: totals and the grouped
 * table from `GET /api/costs`, switching the grouping, nothing wider than the phone. Needs `npm run build:web`
 * first; saves a screenshot under test-results/web/.
 */
import { describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/server/api-tokens.js';
import { ONE_DIALECT, useTestDatabase } from '../support/dialects.js';
import { PHONE, useBrowserDashboard } from '../support/browser-dashboard.js';

describe.each(ONE_DIALECT)('%s: costs page in Chromium', { timeout: 90_000 }, (dialect) => {
  const t = useTestDatabase(dialect);
  const web = useBrowserDashboard(t, { dialect });

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
    const page = await web.signedIn(token, PHONE);
    await page.goto(`${web.base}/costs`);
    const totals = page.getByLabel('Totals');
    await totals.waitFor();
    expect(await totals.innerText()).toBe('$2.25 over 3 sessions, 45,000 tokens');
    const rows = page.locator('table.costs tbody tr');
    await expect.poll(() => rows.allInnerTexts()).toEqual(['builder\t2\t30,000\t$2.00', 'reviewer\t1\t15,000\t$0.25']);
    // Nothing on the page is wider than the phone.
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(PHONE.width);
    await web.shot(page, 'costs-phone');

    await page.getByLabel('Group by').selectOption('provider');
    await expect.poll(() => rows.allInnerTexts()).toEqual(['claude\t2\t30,000\t$1.75', 'codex\t1\t15,000\t$0.50']);
    expect(new URL(page.url()).search).toBe('?by=provider');
  });
});
