import { describe, expect, it } from 'vitest';
import { bodyMessage, forgeRequestError, isRateLimited, retryDelayMs } from '../../src/forge/forge-http-policy.js';

const headers =
  (values: Record<string, string>) =>
  (name: string): string | null =>
    values[name] ?? null;
const NOW = Date.parse('2026-12-07T00:00:00Z');

describe('forge HTTP policy: how long a rate limit asks to wait, and the error a failure becomes', () => {
  it('reads Retry-After in seconds or as a date, then RateLimit-Reset / x-ratelimit-reset, else 1 s', () => {
    expect(retryDelayMs(headers({ 'retry-after': '7' }), NOW)).toBe(7000);
    expect(retryDelayMs(headers({ 'retry-after': new Date(NOW + 4000).toUTCString() }), NOW)).toBe(4000);
    expect(retryDelayMs(headers({ 'ratelimit-reset': String(NOW / 1000 + 30) }), NOW)).toBe(30_000);
    expect(retryDelayMs(headers({ 'x-ratelimit-reset': String(NOW / 1000 + 2) }), NOW)).toBe(2000);
    expect(retryDelayMs(headers({ 'ratelimit-reset': '5' }), NOW)).toBe(5000);
    expect(retryDelayMs(headers({ 'x-ratelimit-reset': String(NOW / 1000 - 10) }), NOW)).toBe(0);
    expect(retryDelayMs(headers({ 'retry-after': '3', 'x-ratelimit-reset': String(NOW / 1000 + 60) }), NOW)).toBe(3000);
    expect(retryDelayMs(headers({}), NOW)).toBe(1000);
  });

  it('treats 429 and GitHub rate-limit 403s as rate limits, and a scope 403 not', () => {
    expect(isRateLimited(429, headers({}))).toBe(true);
    expect(isRateLimited(403, headers({ 'x-ratelimit-remaining': '0' }))).toBe(true);
    expect(isRateLimited(403, headers({ 'retry-after': '60' }))).toBe(true);
    expect(isRateLimited(403, headers({ 'x-ratelimit-remaining': '4999' }))).toBe(false);
    expect(isRateLimited(500, headers({ 'retry-after': '1' }))).toBe(false);
  });

  it('names the repository, the request, the token variable and the missing scope', () => {
    const base = {
      forge: 'GitLab' as const,
      repository: 'app',
      request: 'POST projects/acme%2Fapp/issues',
      message: '',
      missingScope: null,
      tokenSource: 'GITLAB_TOKEN',
      neededScope: 'api',
    };
    const unauthorized = forgeRequestError({ ...base, status: 401 });
    expect(unauthorized.code).toBe('FORGE_AUTH_FAILED');
    expect(unauthorized.message).toContain('repository "app"');
    expect(unauthorized.message).toContain('GITLAB_TOKEN');
    const forbidden = forgeRequestError({ ...base, status: 403, missingScope: 'write_repository' });
    expect(forbidden.message).toContain('lacks the write_repository scope');
    expect(forgeRequestError({ ...base, status: 404 }).code).toBe('FORGE_NOT_FOUND');
    expect(forgeRequestError({ ...base, status: 409 }).code).toBe('FORGE_CONFLICT');
    expect(forgeRequestError({ ...base, status: 429 }).code).toBe('FORGE_RATE_LIMITED');
    const failed = forgeRequestError({ ...base, status: 502, message: 'Bad gateway' });
    expect(failed.code).toBe('FORGE_REQUEST_FAILED');
    expect(failed.message).toContain('POST projects/acme%2Fapp/issues');
  });

  it("reads the forge's message from its error bodies", () => {
    expect(bodyMessage({ message: ['Another open merge request already exists'] })).toBe(
      'Another open merge request already exists',
    );
    expect(bodyMessage({ error: 'insufficient_scope', error_description: 'needs more' })).toBe(
      'insufficient_scope - needs more',
    );
    expect(bodyMessage({ message: { title: ['is too long'] } })).toBe('{"title":["is too long"]}');
    expect(bodyMessage('x'.repeat(600))).toHaveLength(500);
    expect(bodyMessage(null)).toBe('');
  });
});
