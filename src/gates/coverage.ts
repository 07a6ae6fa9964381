/**
 * @module Reads the total coverage percentage from a test run's output: the istanbul/vitest/jest/c8 text table's
 * "All files" row (statements, or lines when asked) and pytest-cov's "TOTAL" row. Pure; null when none is reported.
 */

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export interface CoverageReport {
  /** The total percentage the gate compares with the threshold: lines when reported, else statements. */
  percent: number;
  tool: 'istanbul' | 'pytest-cov';
}

function percentCell(cell: string | undefined): number | null {
  if (cell === undefined) return null;
  const match = /^\s*(\d{1,3}(?:\.\d+)?)\s*%?\s*$/.exec(cell);
  if (!match) return null;
  const value = Number(match[1]);
  return value >= 0 && value <= 100 ? value : null;
}

/**
 * The total coverage of the last report in `output`.
 *
 * ### Example
 * ```ts
 * parseCoverage('All files |   85.71 |      100 |     100 |   85.71 |') // { percent: 85.71, tool: 'istanbul' }
 * parseCoverage('TOTAL        20      4    80%')                         // { percent: 80, tool: 'pytest-cov' }
 * ```
 */
export function parseCoverage(output: string): CoverageReport | null {
  const lines = output.replace(ANSI, '').split(/\r?\n/);
  // istanbul text reporter (vitest --coverage, jest --coverage, c8, nyc):
  // "File      | % Stmts | % Branch | % Funcs | % Lines | Uncovered Line #s"
  // "All files |   85.71 |      100 |     100 |   85.71 |"
  const allFiles = lines.findLastIndex((l) => /^\s*All files\s*\|/.test(l));
  if (allFiles >= 0) {
    const cells = lines[allFiles]!.split('|').map((c) => c.trim());
    const header = lines
      .slice(0, allFiles)
      .findLast((l) => /%\s*Stmts|%\s*Lines/.test(l))
      ?.split('|')
      .map((c) => c.trim());
    const linesAt = header?.findIndex((c) => /%\s*Lines/.test(c)) ?? -1;
    const stmtsAt = header?.findIndex((c) => /%\s*Stmts/.test(c)) ?? -1;
    const percent =
      (linesAt > 0 ? percentCell(cells[linesAt]) : null) ??
      (stmtsAt > 0 ? percentCell(cells[stmtsAt]) : null) ??
      percentCell(cells[1]);
    if (percent !== null) return { percent, tool: 'istanbul' };
  }
  // pytest-cov: "TOTAL    120     18    85%" (with branches: "TOTAL  120  18  40  6  83%")
  const total = lines.findLast((l) => /^TOTAL\s+\d+\s+\d+(?:\s+\d+)*\s+\d{1,3}(?:\.\d+)?%\s*$/.test(l));
  if (total) {
    const percent = percentCell(/(\d{1,3}(?:\.\d+)?)%\s*$/.exec(total)?.[1]);
    if (percent !== null) return { percent, tool: 'pytest-cov' };
  }
  return null;
}
