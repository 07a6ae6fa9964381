/**
 * @module Which LLM provider runs the next session of a role, given the settings and the shared rate-limit state.
 * Pure: the caller reads the limits from the database and passes the clock. A rate limit is never a failure: the
 * answer is "run on the fallback now" or "wait until the reset".
 */

export type ProviderName = 'claude' | 'codex' | 'replay';

export interface ProviderPolicy {
  defaultProvider: ProviderName;
  fallbackProvider: ProviderName | null;
  autoFallbackOnRateLimit: boolean;
  /** `agents.<role>.provider`, when set. */
  roleProvider?: ProviderName | undefined;
  /** The provider named by the manual override environment variable (SWARM_LLM_PROVIDER), when set. */
  forcedProvider?: ProviderName | undefined;
}

export type ProviderChoice =
  | { kind: 'run'; provider: ProviderName; reason: 'forced' | 'preferred' | 'fallback' }
  | { kind: 'wait'; provider: ProviderName; until: number };

/** Limits in force: provider -> limited until (ms since epoch). Entries in the past are ignored. */
export type ProviderLimits = ReadonlyMap<string, number>;

/**
 * ### Examples
 * ```ts
 * const policy = { defaultProvider: 'claude', fallbackProvider: 'codex', autoFallbackOnRateLimit: true };
 * chooseProvider(policy, new Map(), now)                       // run claude (preferred)
 * chooseProvider(policy, new Map([['claude', now + 60_000]]), now) // run codex (fallback)
 * chooseProvider({ ...policy, autoFallbackOnRateLimit: false }, new Map([['claude', now + 60_000]]), now)
 *   // wait for claude until now + 60_000
 * ```
 */
export function chooseProvider(policy: ProviderPolicy, limits: ProviderLimits, now: number): ProviderChoice {
  const limitedUntil = (provider: ProviderName) => {
    const until = limits.get(provider);
    return until !== undefined && until > now ? until : undefined;
  };

  if (policy.forcedProvider) {
    const until = limitedUntil(policy.forcedProvider);
    return until === undefined
      ? { kind: 'run', provider: policy.forcedProvider, reason: 'forced' }
      : { kind: 'wait', provider: policy.forcedProvider, until };
  }

  const preferred = policy.roleProvider ?? policy.defaultProvider;
  const preferredUntil = limitedUntil(preferred);
  if (preferredUntil === undefined) return { kind: 'run', provider: preferred, reason: 'preferred' };

  const fallback = policy.fallbackProvider;
  if (policy.autoFallbackOnRateLimit && fallback && fallback !== preferred) {
    const fallbackUntil = limitedUntil(fallback);
    if (fallbackUntil === undefined) return { kind: 'run', provider: fallback, reason: 'fallback' };
    // Both limited: wait for whichever resets first.
    return fallbackUntil < preferredUntil
      ? { kind: 'wait', provider: fallback, until: fallbackUntil }
      : { kind: 'wait', provider: preferred, until: preferredUntil };
  }
  return { kind: 'wait', provider: preferred, until: preferredUntil };
}
