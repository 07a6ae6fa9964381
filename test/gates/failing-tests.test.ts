/**
 * @module `parseFailingTests` on real output of each runner format: TAP from `node --test` (nested suites, inline and
 * block `error:`), node's spec reporter, vitest (colours on), jest and pytest summaries, and bare ✗/× lines.
 */
import { describe, expect, it } from 'vitest';
import { parseFailingTests } from '../../src/gates/failing-tests.js';

const TAP = `TAP version 13
# Subtest: adds
not ok 1 - adds
  ---
  duration_ms: 2.421718
  location: '/tmp/autodev-checkout-1-x/checkout/test/sum.test.mjs:4:1'
  failureType: 'testCodeFailure'
  error: '-1 == 3'
  code: 'ERR_ASSERTION'
  stack: |-
    TestContext.<anonymous> (file:///tmp/x/test/sum.test.mjs:4:27)
  ...
# Subtest: zero
ok 2 - zero
  ---
  duration_ms: 0.140398
  ...
# Subtest: group
    # Subtest: inner fails
    not ok 1 - inner fails
      ---
      duration_ms: 0.131505
      failureType: 'testCodeFailure'
      error: |-
        Expected values to be strictly equal:
        
        1 !== 2
      code: 'ERR_ASSERTION'
      ...
    # Subtest: todo one
    not ok 2 - todo one # TODO
    1..2
not ok 3 - group
  ---
  duration_ms: 0.332542
  type: 'suite'
  failureType: 'subtestsFailed'
  error: '1 subtest failed'
  ...
1..3
# tests 3
# pass 1
# fail 2
`;

const SPEC = `✖ adds (1.649634ms)
  AssertionError [ERR_ASSERTION]: -1 == 3
      at TestContext.<anonymous> (file:///tmp/tapdemo/test/sum.test.mjs:4:27)

✔ zero (0.125456ms)
▶ group
  ✖ inner fails (0.124074ms)
    Error: boom
        at TestContext.<anonymous> (file:///tmp/tapdemo/test/sum.test.mjs:7:69)

✖ group (0.318542ms)
ℹ tests 3
ℹ fail 2

✖ failing tests:

test at test/sum.test.mjs:4:1
✖ adds (1.649634ms)
  AssertionError [ERR_ASSERTION]: -1 == 3
`;

const VITEST =
  ' \u001b[31m❯\u001b[39m sum.test.mjs (3 tests | 2 failed) 8ms\n' +
  '\u001b[31m     \u001b[31m×\u001b[31m adds\u001b[39m\u001b[32m 6\u001b[2mms\u001b[22m\u001b[39m\n' +
  '\u001b[41m\u001b[1m FAIL \u001b[22m\u001b[49m sum.test.mjs\u001b[2m > \u001b[22msum\u001b[2m > \u001b[22madds\n' +
  '\u001b[31m\u001b[1mAssertionError\u001b[22m: expected -1 to be 3 // Object.is equality\u001b[39m\n\n' +
  '\u001b[41m\u001b[1m FAIL \u001b[22m\u001b[49m sum.test.mjs\u001b[2m > \u001b[22mtop fails\n' +
  '\u001b[31m\u001b[1mError\u001b[22m: boom\u001b[39m\n' +
  '      Tests  2 failed | 1 passed (3)\n';

const JEST = `FAIL test/sum.test.js
  sum
    ✕ adds (3 ms)
    ✓ zero (1 ms)

  ● sum › adds

    expect(received).toBe(expected) // Object.is equality

    Expected: 3
    Received: -1

Tests:       1 failed, 1 passed, 2 total
`;

const PYTEST = `=========================== short test summary info ============================
FAILED tests/test_sum.py::test_adds - AssertionError: assert -1 == 3
FAILED tests/test_sum.py::test_neg
========================= 2 failed, 1 passed in 0.12s ==========================
`;

describe('parseFailingTests', () => {
  it('reads TAP: nested tests, inline and block errors, skipping TODOs and suites that failed by their tests', () => {
    expect(parseFailingTests(TAP)).toEqual([
      { name: 'adds', message: '-1 == 3' },
      { name: 'inner fails', message: 'Expected values to be strictly equal:' },
    ]);
  });

  it('reads node’s spec reporter without durations, each test once, suites left out', () => {
    expect(parseFailingTests(SPEC)).toEqual([
      { name: 'adds', message: 'AssertionError [ERR_ASSERTION]: -1 == 3' },
      { name: 'inner fails', message: 'Error: boom' },
    ]);
  });

  it('reads vitest with its colours', () => {
    expect(parseFailingTests(VITEST)).toEqual([
      { name: 'sum.test.mjs > sum > adds', message: 'AssertionError: expected -1 to be 3 // Object.is equality' },
      { name: 'sum.test.mjs > top fails', message: 'Error: boom' },
    ]);
  });

  it('reads jest and pytest', () => {
    expect(parseFailingTests(JEST)).toEqual([
      { name: 'sum › adds', message: 'expect(received).toBe(expected) // Object.is equality' },
    ]);
    expect(parseFailingTests(PYTEST)).toEqual([
      { name: 'tests/test_sum.py::test_adds', message: 'AssertionError: assert -1 == 3' },
      { name: 'tests/test_sum.py::test_neg', message: '' },
    ]);
  });

  it('falls back to bare ✗/× lines, and finds nothing in output of no known format', () => {
    expect(parseFailingTests('  ✗ parses dates 12ms\n  × rounds (4 ms)\n')).toEqual([
      { name: 'parses dates', message: '' },
      { name: 'rounds', message: '' },
    ]);
    expect(parseFailingTests('make: *** [all] Error 1\n')).toEqual([]);
  });
});
