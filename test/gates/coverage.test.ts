/**
 * @module The coverage parser on real report shapes (vitest/istanbul, jest, c8, pytest-cov) and the secret masking of
 * deploy output. Pure.
 */
import { describe, expect, it } from 'vitest';
import { parseCoverage } from '../../src/gates/coverage.js';
import { maskSecrets, noDeployCommandSummary } from '../../src/gates/deploy-command.js';

const VITEST = `
 % Coverage report from v8
----------|---------|----------|---------|---------|-------------------
File      | % Stmts | % Branch | % Funcs | % Lines | Uncovered Line #s
----------|---------|----------|---------|---------|-------------------
All files |   85.71 |      100 |      50 |   83.33 |
 sum.ts   |   85.71 |      100 |      50 |   83.33 | 7-8
----------|---------|----------|---------|---------|-------------------
`;

const JEST = `
PASS  test/sum.test.js
----------|---------|----------|---------|---------|-------------------
File      | % Stmts | % Branch | % Funcs | % Lines | Uncovered Line #s
----------|---------|----------|---------|---------|-------------------
All files |     100 |      100 |     100 |     100 |
 sum.js   |     100 |      100 |     100 |     100 |
----------|---------|----------|---------|---------|-------------------
Test Suites: 1 passed, 1 total
Tests:       2 passed, 2 total
`;

const PYTEST = `
---------- coverage: platform linux, python 3.11.4-final-0 -----------
Name             Stmts   Miss  Cover
------------------------------------
app/__init__.py      0      0   100%
app/sum.py          10      3    70%
------------------------------------
TOTAL               10      3    70%

============================== 2 passed in 0.05s ===============================
`;

const PYTEST_BRANCHES = `
Name          Stmts   Miss Branch BrPart  Cover
-----------------------------------------------
TOTAL           120     18     40      6    83%
`;

describe('parseCoverage', () => {
  it('reads the "All files" row of an istanbul table (vitest, c8), preferring % Lines', () => {
    expect(parseCoverage(VITEST)).toEqual({ percent: 83.33, tool: 'istanbul' });
  });

  it('reads jest --coverage', () => {
    expect(parseCoverage(JEST)).toEqual({ percent: 100, tool: 'istanbul' });
  });

  it('reads pytest-cov TOTAL rows, with and without branch columns', () => {
    expect(parseCoverage(PYTEST)).toEqual({ percent: 70, tool: 'pytest-cov' });
    expect(parseCoverage(PYTEST_BRANCHES)).toEqual({ percent: 83, tool: 'pytest-cov' });
  });

  it('ignores colours, takes the last report, and returns null when there is none', () => {
    const coloured = VITEST.replace('All files', '\u001b[1mAll files\u001b[22m');
    expect(parseCoverage(coloured)?.percent).toBe(83.33);
    expect(parseCoverage(`${JEST}\n${VITEST}`)?.percent).toBe(83.33);
    expect(parseCoverage('# pass 3\n# fail 0\n')).toBeNull();
    expect(parseCoverage('All files | n/a |')).toBeNull();
    expect(parseCoverage('TOTAL 10 3 700%')).toBeNull();
  });
});

describe('maskSecrets', () => {
  it('replaces every occurrence of each value, longest first, and leaves short values alone', () => {
    expect(maskSecrets('token=abcd1234 again abcd1234, sub abcd', ['abcd', 'abcd1234', 'xy'])).toBe(
      'token=*** again ***, sub ***',
    );
    expect(maskSecrets('xy stays', ['xy'])).toBe('xy stays');
  });

  it('says plainly that nothing was deployed', () => {
    expect(noDeployCommandSummary('shop')).toBe(
      'no deploy command is configured for repository shop; nothing was deployed',
    );
  });
});
