/**
 * The results that stand for agents' work in the pipeline tests pass the result contracts, as a real agent's
 * `submit_result` must (the demo's recorded sessions are checked in test/demo/recordings.test.ts; the helpers that
 * complete tasks by hand check every other result they are given, test/support/result-fixtures.ts).
 */
import { describe, expect, it } from 'vitest';
import { validateResult } from '../../src/agents/result-contracts.js';
import { checkedResult } from '../support/result-fixtures.js';
import { implementation, REVIEW_OK, SEC_OK, SPEC, STORY, TESTS_CLAIMED_OK } from '../workflow/pipeline-fixtures.js';

const FIXTURES: [string, string, unknown][] = [
  ['STORY', 'create_user_story', STORY],
  ['SPEC', 'write_spec', SPEC],
  ['implementation()', 'implement_feature', implementation('autodev/1-sum', 'aaaaaaa')],
  ['implementation()', 'implement_fix', implementation('autodev/1-sum', 'aaaaaaa')],
  ['REVIEW_OK', 'review_mr', REVIEW_OK],
  ['TESTS_CLAIMED_OK', 'run_tests', TESTS_CLAIMED_OK],
  ['SEC_OK', 'security_scan', SEC_OK],
];

describe('agent result fixtures', () => {
  it.each(FIXTURES)('%s is a valid %s result', (_name, type, value) => {
    expect(validateResult(type as never, value)).toMatchObject({ ok: true });
  });

  it('a fixture that drifts from its contract is refused, naming the field', () => {
    expect(() => checkedResult('review_mr', { ...REVIEW_OK, verdict: 'looks fine' })).toThrow(
      /not a valid agent result: review_mr result is invalid: verdict/,
    );
  });
});
