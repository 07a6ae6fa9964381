/**
 * @module Unit tests of the test-runner summary parser: vitest, jest, node --test (TAP and spec), pytest.
 */
import { describe, expect, it } from 'vitest';
import { parseTestCounts } from '../../src/gates/test-counts.js';

describe('parseTestCounts', () => {
  it('reads vitest, with colours', () => {
    const out =
      ' Test Files  1 failed | 2 passed (3)\n\u001b[2m      Tests \u001b[22m 3 failed | 10 passed | 1 skipped (14)\n';
    expect(parseTestCounts(out)).toEqual({ runner: 'vitest', passed: 10, failed: 3, skipped: 1 });
  });

  it('reads jest', () => {
    const out = 'Test Suites: 1 failed, 1 total\nTests:       1 failed, 2 skipped, 10 passed, 13 total\n';
    expect(parseTestCounts(out)).toEqual({ runner: 'jest', passed: 10, failed: 1, skipped: 2 });
  });

  it('reads node --test, TAP and spec reporters', () => {
    expect(parseTestCounts('# tests 4\n# pass 3\n# fail 1\n# skipped 0\n# todo 0\n')).toEqual({
      runner: 'node',
      passed: 3,
      failed: 1,
      skipped: 0,
    });
    expect(parseTestCounts('ℹ tests 2\nℹ pass 2\nℹ fail 0\nℹ skipped 1\n')).toEqual({
      runner: 'node',
      passed: 2,
      failed: 0,
      skipped: 1,
    });
  });

  it('reads pytest', () => {
    expect(parseTestCounts('===== 2 failed, 10 passed, 1 skipped in 0.12s =====\n')).toEqual({
      runner: 'pytest',
      passed: 10,
      failed: 2,
      skipped: 1,
    });
    expect(parseTestCounts('5 passed in 0.01s\n')).toMatchObject({ passed: 5, failed: 0 });
  });

  it('returns null without a known summary', () => {
    expect(parseTestCounts('make: *** [test] Error 1\n')).toBeNull();
  });
});
