/**
 * @module What "no progress" compares: a finding's first line without colours, durations, clock times or temp paths;
 * the names, locations and messages stay, so a changed failure never reads the same.
 */
import { describe, expect, it } from 'vitest';
import { findingsFingerprint, normalizeFinding, sameFindings } from '../../src/workflow/finding-fingerprint.js';

describe('normalizeFinding', () => {
  it('drops the output tail, colours, durations, clock times and temp paths', () => {
    expect(
      normalizeFinding(
        '\u001b[31mtests: "npm test" 1 failed, 2 passed (exit 1) in 0.53 s at 20:58:27\u001b[0m\n  ✖ adds (12ms)\n',
      ),
    ).toBe('tests: "npm test" 1 failed, 2 passed (exit 1) in <duration> at <time>');
    expect(normalizeFinding('tests: adds: ENOENT /tmp/autodev-checkout-12-Ab3/checkout/x.json (1.2 sec)')).toBe(
      'tests: adds: ENOENT <tmp> (<duration>)',
    );
    expect(normalizeFinding('tests: slow: timed out after 30s; duration_ms: 30012.5')).toBe(
      'tests: slow: timed out after <duration>; duration_ms: <duration>',
    );
  });

  it('keeps names, file:line locations and messages', () => {
    expect(normalizeFinding('review: [major] rename x (a.ts:3)')).toBe('review: [major] rename x (a.ts:3)');
    expect(normalizeFinding('tests: adds: expected 3, got -1')).not.toBe(
      normalizeFinding('tests: adds: expected 3, got 1'),
    );
  });
});

describe('sameFindings', () => {
  it('is order-insensitive and ignores what changes from run to run', () => {
    const first = ['tests: b: boom (3ms)', 'tests: "x" 2 failed, 0 passed (exit 1)\n# duration_ms 96.4'];
    const again = ['tests: "x" 2 failed, 0 passed (exit 1)\n# duration_ms 130.2', 'tests: b: boom (5ms)'];
    expect(sameFindings(first, again)).toBe(true);
    expect(sameFindings(first, ['tests: "x" 1 failed, 1 passed (exit 1)', 'tests: b: boom'])).toBe(false);
    expect(findingsFingerprint(['a', 'a', 'b'])).toEqual(['a', 'b']);
  });
});
