import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  idText,
  INT4_MAX,
  jsonLimitProblem,
  parseIdText,
  parseWholeNumberText,
  PAYLOAD_LIMITS,
  storableText,
  unstorableTextProblem,
} from '../../src/domain/input-policy.js';
import { validateNewTask } from '../../src/queue/enqueue-task.js';
import { redactUrl } from '../../src/log.js';

describe('input policy', () => {
  it('refuses NUL and lone surrogates in text, accepts everything else (emoji, other control characters)', () => {
    expect(unstorableTextProblem('a\u0000b')).toMatch(/NUL character .* at position 1/);
    expect(unstorableTextProblem('\ud800')).toMatch(/lone UTF-16 surrogate/);
    expect(unstorableTextProblem('x\udc00')).toMatch(/lone UTF-16 surrogate/);
    for (const fine of ['', 'plain', '😀 emoji', 'tab\tnew\nline\u0001', 'ü'])
      expect(unstorableTextProblem(fine)).toBe(undefined);
    const schema = z.object({ title: storableText({ max: 5 }) });
    expect(schema.safeParse({ title: 'ok' }).success).toBe(true);
    expect(schema.safeParse({ title: 'toolong' }).success).toBe(false);
    const nul = schema.safeParse({ title: 'a\u0000' });
    expect(nul.success).toBe(false);
    expect(nul.error?.issues[0]?.path).toEqual(['title']);
  });

  it('reads ids only in canonical decimal digits', () => {
    for (const bad of ['1e0', '0x1', '+1', ' 1', '1 ', '1\n', '01', '0', '-1', '1.0', '', '１', '9007199254740992']) {
      expect(() => parseIdText('task id', bad), JSON.stringify(bad)).toThrow(/task id must be a positive whole number/);
      expect(idText('task id').safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(parseIdText('task id', '12')).toBe(12);
    expect(idText('id').parse('9007199254740991')).toBe(9007199254740991);
  });

  it('keeps whole numbers within their bounds, written plainly', () => {
    expect(parseWholeNumberText('--limit', '500', 1, 500)).toBe(500);
    for (const bad of ['501', '0', '1e2', '0x10', '+5', ' 5', '05', String(INT4_MAX + 1)]) {
      expect(() => parseWholeNumberText('--limit', bad, 1, 500)).toThrow(
        /--limit must be a whole number from 1 to 500/,
      );
    }
  });

  it('measures JSON depth without recursion: 100,000 levels are refused, not a stack overflow', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000)) as unknown;
    expect(jsonLimitProblem(deep)).toMatch(`nested deeper than ${PAYLOAD_LIMITS.maxDepth} levels`);
    expect(jsonLimitProblem({ a: 'x'.repeat(PAYLOAD_LIMITS.maxBytes) })).toMatch(/larger than/);
    expect(jsonLimitProblem({ a: [1, { b: 'c' }] })).toBe(undefined);
    expect(() => validateNewTask({ type: 'deploy', payload: { a: deep } })).toThrow(/payload is nested deeper/);
    expect(() => validateNewTask({ type: 'deploy', maxAttempts: 2 ** 31 })).toThrow(
      /max attempts must be a whole number from 1 to 1000/,
    );
  });

  it('strips credentials from URLs before they are logged', () => {
    expect(redactUrl('/api/events?kinds=task.&access_token=secret123&after=4')).toBe(
      '/api/events?kinds=task.&access_token=[REDACTED]&after=4',
    );
    expect(redactUrl('postgres://user:pa55@db:5432/autodev')).toBe('postgres://[REDACTED]@db:5432/autodev');
    expect(redactUrl('/api/tasks?limit=5')).toBe('/api/tasks?limit=5');
  });
});
