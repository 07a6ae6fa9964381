/**
 * @module Whether a role's agents may claim a task now: the provider its next session would run on (`chooseProvider`
 * over the shared rate limits) must have its CLI and credentials (`llm/provider-status.ts`, judged in the environment
 * a session gets: the allowlisted variables plus `llm.providers.<name>.env`). When it cannot run, the answer says
 * why for every provider the role may use and what to do, and when to look again (a rate limit's reset). A role forced
 * to the replay provider (tests, the demo) can always run. `GET /api/providers` shares `checkProvider`.
 */
import fs from 'node:fs';
import type { Settings } from '../config/settings-schema.js';
import type { Role } from '../domain/roles.js';
import { missingCredentials, providerLogin, type CliProviderName, type ProviderLogin } from '../llm/provider-status.js';
import type { ProviderName } from '../llm/session-events.js';
import { agentCliPath, homeDir } from './agent-cli.js';
import { chooseProvider, type ProviderLimits } from './choose-provider.js';
import { providerPolicy } from './run-agent-task.js';
import { providerSessionEnv } from './sandbox-policy.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface ProviderCheck {
  name: CliProviderName;
  executable: { found: boolean; path: string | null; problem: string | null };
  login: ProviderLogin;
  /** What was looked for and not found, when not logged in. */
  missing: string | null;
}

/** Whether `provider`'s CLI exists and has credentials, as a session would start it now. */
export function checkProvider(
  settings: Settings,
  env: Env,
  provider: CliProviderName,
  exists: (file: string) => boolean = fs.existsSync,
): ProviderCheck {
  const sessionEnv = providerSessionEnv(settings, env, provider);
  let executable: ProviderCheck['executable'];
  try {
    const found = agentCliPath(provider, settings.llm.providers[provider].executable, sessionEnv.PATH);
    executable = exists(found)
      ? { found: true, path: found, problem: null }
      : { found: false, path: null, problem: `the ${provider} CLI is missing at ${found}` };
  } catch (error) {
    executable = { found: false, path: null, problem: (error as Error).message };
  }
  const home = homeDir(env);
  const login = providerLogin(provider, {
    env: sessionEnv,
    home,
    exists,
    codexConfig: settings.llm.providers.codex.config,
  });
  return {
    name: provider,
    executable,
    login,
    missing: login.logged_in ? null : missingCredentials(provider, sessionEnv, home),
  };
}

export type RoleReadiness =
  | { ready: true; provider: ProviderName }
  | {
      ready: false;
      /** `rate_limited` when only rate limits stand in the way, `waiting` when a provider is not logged in / missing. */
      status: 'waiting' | 'rate_limited';
      /** For humans: `no provider can run: <per provider>: <what to do>`. */
      reason: string;
      /** When a rate limit in the way resets (ms since the epoch); null when only a human can change it. */
      recheckAt: number | null;
    };

export interface ReadinessInput {
  settings: Settings;
  env: Env;
  role: Role;
  limits: ProviderLimits;
  now: number;
  forceProvider?: ProviderName | undefined;
  /** Defaults to `checkProvider` on the real file system. */
  check?: (provider: CliProviderName) => ProviderCheck;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * ### Examples
 * ```ts
 * roleReadiness({ settings, env: process.env, role: 'builder', limits: new Map(), now: Date.now() })
 * // { ready: false, status: 'waiting', reason: 'no provider can run: claude is not logged in (no ANTHROPIC_API_KEY…', … }
 * ```
 */
export function roleReadiness(input: ReadinessInput): RoleReadiness {
  const { settings, env, limits, now } = input;
  if (input.forceProvider === 'replay') return { ready: true, provider: 'replay' };
  const check = input.check ?? ((provider: CliProviderName) => checkProvider(settings, env, provider));
  const policy = providerPolicy(settings, input.role, env as Record<string, string | undefined>);
  if (input.forceProvider) policy.forcedProvider = input.forceProvider;
  const limitedUntil = (provider: ProviderName) => {
    const until = limits.get(provider);
    return until !== undefined && until > now ? until : undefined;
  };

  const preferred = policy.forcedProvider ?? policy.roleProvider ?? policy.defaultProvider;
  const fallback =
    !policy.forcedProvider && policy.autoFallbackOnRateLimit && policy.fallbackProvider !== preferred
      ? policy.fallbackProvider
      : null;
  const choice = chooseProvider(policy, limits, now);
  const chosen = choice.provider;
  if (chosen === 'replay') return { ready: true, provider: 'replay' };
  const checks = new Map<ProviderName, ProviderCheck>();
  const checkOf = (provider: CliProviderName) => {
    let found = checks.get(provider);
    if (!found) checks.set(provider, (found = check(provider)));
    return found;
  };
  const canStart = (c: ProviderCheck) => c.executable.found && c.login.logged_in;
  if (choice.kind === 'run' && canStart(checkOf(chosen))) return { ready: true, provider: chosen };

  // Why not, for every provider this role may use (the preferred one first), and what would fix it.
  const candidates = [preferred, ...(fallback ? [fallback] : [])];
  const parts: string[] = [];
  let fix: string | null = null;
  for (const provider of candidates) {
    const label = provider === fallback ? `${provider} (the fallback)` : provider;
    if (provider === 'replay') continue;
    const c = checkOf(provider);
    const until = limitedUntil(provider);
    if (!c.executable.found) {
      parts.push(`${label} cannot start: ${c.executable.problem ?? 'its CLI is missing'}`);
    } else if (!c.login.logged_in) {
      parts.push(`${label} is not logged in (${c.missing ?? 'no credentials'})`);
      fix ??= c.login.how_to_login;
    } else if (until !== undefined) {
      parts.push(`${label} is rate limited until ${iso(until)}`);
    } else if (provider === fallback) {
      parts.push(`${label} is logged in but runs only while ${preferred} is rate limited`);
    }
  }
  const resets = candidates.map(limitedUntil).filter((until): until is number => until !== undefined);
  const recheckAt = resets.length > 0 ? Math.min(...resets) : null;
  const onlyLimits = candidates.every((p) => p === 'replay' || canStart(checkOf(p as CliProviderName)));
  const reason =
    `no provider can run: ${parts.join('; ')}` +
    (fix ? `: ${fix}` : onlyLimits ? '; tasks wait for the reset (no attempt is counted)' : '');
  return { ready: false, status: onlyLimits ? 'rate_limited' : 'waiting', reason, recheckAt };
}
