/**
 * @module Whether a role may claim: the provider its next session would run on must be logged in and its CLI present;
 * rate limits move it to the fallback or make it wait until the reset. Pure over a stand-in provider check (the
 * file-system check is `provider-status.test.ts`'s subject); the reason names every provider the role may use.
 */
import { describe, expect, it } from 'vitest';
import { checkProvider, roleReadiness, type ProviderCheck } from '../../src/agents/provider-readiness.js';
import { SettingsSchema, type SettingsInput } from '../../src/config/settings-schema.js';
import type { CliProviderName } from '../../src/llm/provider-status.js';

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);
const HOME = '/home/dev';

function settingsWith(input: SettingsInput = {}) {
  return SettingsSchema.parse(input);
}

/** A stand-in check: `loggedIn` providers have credentials; every CLI is present. */
function check(loggedIn: CliProviderName[]) {
  return (name: CliProviderName): ProviderCheck => ({
    name,
    executable: { found: true, path: `/usr/bin/${name}`, problem: null },
    login: {
      logged_in: loggedIn.includes(name),
      via: loggedIn.includes(name) ? 'X' : null,
      how_to_login: `log ${name} in`,
    },
    missing: loggedIn.includes(name) ? null : `no ${name} credentials`,
  });
}

describe('roleReadiness', () => {
  const settings = settingsWith({ llm: { default_provider: 'claude', fallback_provider: 'codex' } });
  const base = { settings, env: { HOME }, role: 'builder' as const, now: NOW, limits: new Map<string, number>() };

  it('ready on the preferred provider when it is logged in', () => {
    expect(roleReadiness({ ...base, check: check(['claude']) })).toEqual({ ready: true, provider: 'claude' });
  });

  it('waiting when no provider is logged in, naming each and how to log the preferred one in', () => {
    expect(roleReadiness({ ...base, check: check([]) })).toEqual({
      ready: false,
      status: 'waiting',
      reason:
        'no provider can run: claude is not logged in (no claude credentials); codex (the fallback) is not logged in ' +
        '(no codex credentials): log claude in',
      recheckAt: null,
    });
  });

  it('the preferred one not logged in: waiting, even with the fallback logged in (it runs only on a rate limit)', () => {
    const readiness = roleReadiness({ ...base, check: check(['codex']) });
    expect(readiness).toMatchObject({ ready: false, status: 'waiting' });
    expect(readiness.ready === false && readiness.reason).toBe(
      'no provider can run: claude is not logged in (no claude credentials); codex (the fallback) is logged in but ' +
        'runs only while claude is rate limited: log claude in',
    );
  });

  it('rate limited with a logged-in fallback: ready on the fallback', () => {
    const limits = new Map([['claude', NOW + 60_000]]);
    expect(roleReadiness({ ...base, limits, check: check(['claude', 'codex']) })).toEqual({
      ready: true,
      provider: 'codex',
    });
  });

  it('rate limited and the fallback not logged in: waiting until the reset, then ready again', () => {
    const limits = new Map([['claude', NOW + 60_000]]);
    expect(roleReadiness({ ...base, limits, check: check(['claude']) })).toEqual({
      ready: false,
      status: 'waiting',
      reason:
        'no provider can run: claude is rate limited until 2026-12-06T12:01:00.000Z; codex (the fallback) is not ' +
        'logged in (no codex credentials): log codex in',
      recheckAt: NOW + 60_000,
    });
    expect(roleReadiness({ ...base, now: NOW + 60_001, limits, check: check(['claude']) })).toEqual({
      ready: true,
      provider: 'claude',
    });
  });

  it('every provider rate limited: rate_limited until the first reset', () => {
    const limits = new Map([
      ['claude', NOW + 60_000],
      ['codex', NOW + 30_000],
    ]);
    expect(roleReadiness({ ...base, limits, check: check(['claude', 'codex']) })).toEqual({
      ready: false,
      status: 'rate_limited',
      reason:
        'no provider can run: claude is rate limited until 2026-12-06T12:01:00.000Z; codex (the fallback) is rate ' +
        'limited until 2026-12-06T12:00:30.000Z; tasks wait for the reset (no attempt is counted)',
      recheckAt: NOW + 30_000,
    });
  });

  it('a role forced to the replay provider can always run; the manual override picks the provider checked', () => {
    expect(roleReadiness({ ...base, forceProvider: 'replay', check: check([]) })).toEqual({
      ready: true,
      provider: 'replay',
    });
    const overridden = roleReadiness({ ...base, env: { HOME, SWARM_LLM_PROVIDER: 'codex' }, check: check(['claude']) });
    expect(overridden).toMatchObject({
      ready: false,
      reason: 'no provider can run: codex is not logged in (no codex credentials): log codex in',
    });
  });

  it('checkProvider names what it looked for in the session environment when nothing is there', () => {
    const found = checkProvider(
      settings,
      { HOME, PATH: '/usr/bin' },
      'claude',
      (file) => file === '/bin/true' || file.endsWith('/claude'),
    );
    expect(found.login.logged_in).toBe(false);
    expect(found.missing).toBe(
      'no ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or CLAUDE_CODE_OAUTH_TOKEN; no /home/dev/.claude/.credentials.json',
    );
    const withKey = checkProvider(
      settingsWith({ llm: { providers: { claude: { env: { ANTHROPIC_API_KEY: 'k' } } } } }),
      { HOME },
      'claude',
      () => false,
    );
    expect(withKey.login).toMatchObject({ logged_in: true, via: 'ANTHROPIC_API_KEY' });
    expect(withKey.missing).toBeNull();
  });
});
