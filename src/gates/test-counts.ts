/**
 * @module Reads pass/fail/skip counts from the summary lines of common test runners: vitest, jest, `node --test`
 * (TAP and spec reporters) and pytest. Pure; returns null when no known summary is found.
 */

export interface TestCounts {
  passed: number;
  failed: number;
  skipped: number;
  runner: 'vitest' | 'jest' | 'node' | 'pytest';
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

function count(text: string, word: RegExp): number {
  const match = word.exec(text);
  return match ? Number(match[1]) : 0;
}

export function parseTestCounts(output: string): TestCounts | null {
  const text = output.replace(ANSI, '');
  const lines = text.split(/\r?\n/);
  // jest: "Tests:       1 failed, 2 skipped, 10 passed, 13 total"
  const jest = lines.findLast((l) => /^\s*Tests:\s+.*\d+ total/.test(l));
  if (jest) {
    return {
      runner: 'jest',
      passed: count(jest, /(\d+) passed/),
      failed: count(jest, /(\d+) failed/),
      skipped: count(jest, /(\d+) skipped/) + count(jest, /(\d+) todo/),
    };
  }
  // vitest: "      Tests  3 failed | 10 passed | 1 skipped (14)"
  const vitest = lines.findLast((l) => /^\s*Tests\s+\d+ (passed|failed|skipped|todo)/.test(l));
  if (vitest) {
    return {
      runner: 'vitest',
      passed: count(vitest, /(\d+) passed/),
      failed: count(vitest, /(\d+) failed/),
      skipped: count(vitest, /(\d+) skipped/) + count(vitest, /(\d+) todo/),
    };
  }
  // node --test: "# pass 3" / "ℹ pass 3", "# fail 1", "# skipped 0", "# todo 0"
  const nodeLine = (name: string) => lines.findLast((l) => new RegExp(`^(#|ℹ) ${name} \\d+\\s*$`).test(l));
  const pass = nodeLine('pass');
  const fail = nodeLine('fail');
  if (pass !== undefined && fail !== undefined) {
    const n = (line: string | undefined) => (line ? Number(/(\d+)\s*$/.exec(line)![1]) : 0);
    return { runner: 'node', passed: n(pass), failed: n(fail), skipped: n(nodeLine('skipped')) + n(nodeLine('todo')) };
  }
  // pytest: "==== 2 failed, 10 passed, 1 skipped in 0.12s ====" or "5 passed in 0.01s"
  const pytest = lines.findLast((l) => /\d+ (passed|failed)[^\n]* in [\d.]+s/.test(l));
  if (pytest) {
    return {
      runner: 'pytest',
      passed: count(pytest, /(\d+) passed/),
      failed: count(pytest, /(\d+) failed/) + count(pytest, /(\d+) errors?\b/),
      skipped: count(pytest, /(\d+) skipped/) + count(pytest, /(\d+) xfailed/),
    };
  }
  return null;
}
