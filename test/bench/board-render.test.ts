/**
 * @module The board's first-render benchmark (`bench/board-render.ts`) at a tiny size, so it cannot rot (it waited
 * for every story's card after the board was paged, and timed out): 60 stories in Chromium, the first page (50 cards
 * and "Older stories") found, the bundle within budget. No time is asserted; `npm run bench:board` measures.
 * Needs `npm run build` (web/dist). SQLite only: the bench's own database.
 */
import { describe, expect, it } from 'vitest';
import { runBoardRenderBench } from '../../bench/board-render.js';

describe('bench:board at 60 stories (Chromium, the built dashboard)', () => {
  it('finds the first page of the board and sizes the first-load bundle', { timeout: 120_000 }, async () => {
    const { report, overBudget } = await runBoardRenderBench(60);
    expect(report).toContain('Story board first render: 60 stories, navigation to the first page on screen');
    expect(report).toContain('50 newest cards and "Older stories"');
    expect(report).toMatch(/\n\s+60\s+[\d,]+\s+[\d,]+\s+< 1000 ms\n/);
    expect(overBudget).toBe(false);
  });
});
