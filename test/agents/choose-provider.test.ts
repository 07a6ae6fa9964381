import { describe, expect, it } from 'vitest';
import { chooseProvider, type ProviderPolicy } from '../../src/agents/choose-provider.js';
import {
  activeProviderLimits,
  markProviderLimited,
  UNKNOWN_RESET_COOLDOWN_MS,
} from '../../src/agents/provider-limits.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

const now = 1_700_000_000_000;
const policy: ProviderPolicy = { defaultProvider: 'claude', fallbackProvider: 'codex', autoFallbackOnRateLimit: true };
const limited = (entries: Record<string, number>) => new Map(Object.entries(entries));

describe('chooseProvider', () => {
  it('runs the default provider when nothing is limited', () => {
    expect(chooseProvider(policy, new Map(), now)).toEqual({ kind: 'run', provider: 'claude', reason: 'preferred' });
  });

  it('falls back at once when the preferred provider is limited and fallback is on', () => {
    expect(chooseProvider(policy, limited({ claude: now + 60_000 }), now)).toEqual({
      kind: 'run',
      provider: 'codex',
      reason: 'fallback',
    });
  });

  it('uses the preferred provider again once its reset time has passed', () => {
    expect(chooseProvider(policy, limited({ claude: now }), now)).toMatchObject({ kind: 'run', provider: 'claude' });
  });

  it('waits for the reset when fallback is off', () => {
    expect(chooseProvider({ ...policy, autoFallbackOnRateLimit: false }, limited({ claude: now + 5 }), now)).toEqual({
      kind: 'wait',
      provider: 'claude',
      until: now + 5,
    });
  });

  it('waits for whichever resets first when both are limited', () => {
    expect(chooseProvider(policy, limited({ claude: now + 500, codex: now + 100 }), now)).toEqual({
      kind: 'wait',
      provider: 'codex',
      until: now + 100,
    });
  });

  it('a per-role provider overrides the default', () => {
    expect(chooseProvider({ ...policy, roleProvider: 'codex' }, new Map(), now)).toMatchObject({ provider: 'codex' });
  });

  it('the manual override forces a provider and never falls back', () => {
    const forced = { ...policy, roleProvider: 'claude' as const, forcedProvider: 'codex' as const };
    expect(chooseProvider(forced, new Map(), now)).toEqual({ kind: 'run', provider: 'codex', reason: 'forced' });
    expect(chooseProvider(forced, limited({ codex: now + 9 }), now)).toEqual({
      kind: 'wait',
      provider: 'codex',
      until: now + 9,
    });
  });
});

describe.each(DIALECTS)('%s: provider limits', (dialect) => {
  const t = useTestDatabase(dialect);

  it('a limit is shared through the database until its reset time', async () => {
    await markProviderLimited(t.handle.db, { provider: 'claude', until: now + 60_000, reason: '429', now });
    expect(await activeProviderLimits(t.handle.db, now)).toEqual(new Map([['claude', now + 60_000]]));
    expect(await activeProviderLimits(t.handle.db, now + 60_000)).toEqual(new Map());
    const events = await t.handle.db.selectFrom('events').select('kind').execute();
    expect(events.map((e) => e.kind)).toEqual(['provider.rate_limited']);
  });

  it('a new limit replaces the old one; an unknown reset time gets a cooldown', async () => {
    await markProviderLimited(t.handle.db, { provider: 'codex', until: now + 10, reason: 'a', now });
    await markProviderLimited(t.handle.db, { provider: 'codex', until: null, reason: 'b', now });
    expect((await activeProviderLimits(t.handle.db, now)).get('codex')).toBe(now + UNKNOWN_RESET_COOLDOWN_MS);
  });
});
