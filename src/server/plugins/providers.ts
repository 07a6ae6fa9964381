/**
 * @module `GET /api/providers`: per LLM provider (claude, codex), whether a session could run on it now: the CLI
 * executable the runtime would start exists, credentials are present (`llm/provider-status.ts`: a key variable in
 * the session's environment, or the file the CLI's login writes; never the secret), and it is not rate limited. Also
 * which roles use it (by `llm.default_provider`, `agents.<role>.provider`, the manual override variable, and the
 * fallback). The dashboard says plainly, with what to do, when no provider the agents use can run. `replay` (tests
 * and the demo) is not listed: it needs no login.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { checkProvider } from '../../agents/provider-readiness.js';
import { providerPolicy } from '../../agents/run-agent-task.js';
import { LLM_PROVIDERS, type LlmProviderName, type Settings } from '../../config/settings-schema.js';
import { ROLES, type Role } from '../../domain/roles.js';
import type { Database } from '../../store/schema.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { ProvidersResponseSchema, type PROVIDER_NAMES } from '../../domain/provider-schema.js';

/** The domain schema's provider names are the settings' (a compile error when one list changes alone). */
const sameProviders: [LlmProviderName, (typeof PROVIDER_NAMES)[number]] extends [
  (typeof PROVIDER_NAMES)[number],
  LlmProviderName,
]
  ? true
  : false = true;
void sameProviders;

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface ProvidersOptions {
  db: Kysely<Database>;
  clock: () => number;
  settings: Settings;
  /** The environment agent sessions start from (the process environment). */
  env: Readonly<Record<string, string | undefined>>;
}

export const providersPlugin: FastifyPluginAsyncZod<ProvidersOptions> = async (app, { db, clock, settings, env }) => {
  app.get(
    '/providers',
    {
      schema: {
        summary: 'Whether each LLM provider can run a session now (executable, login, rate limit)',
        description:
          'Login means credentials are present (an API key variable in the environment sessions get, or the file ' +
          '"claude login" / "codex login" writes); they are not tried against the provider. Secrets are never returned.',
        tags: ['agents'],
        response: { 200: ProvidersResponseSchema, ...errors(401) },
      },
    },
    async () => {
      const now = clock();
      const limits = await db
        .selectFrom('provider_limits')
        .select(['provider', 'limited_until', 'reason'])
        .where('limited_until', '>', now)
        .execute();
      const limitOf = new Map(limits.map((l) => [l.provider, l]));
      const usedBy = new Map<LlmProviderName, string[]>(LLM_PROVIDERS.map((p) => [p, []]));
      let forced: LlmProviderName | null = null;
      for (const role of ROLES as readonly Role[]) {
        const policy = providerPolicy(settings, role, env);
        forced = (policy.forcedProvider as LlmProviderName | undefined) ?? null;
        const preferred = (policy.forcedProvider ?? policy.roleProvider ?? policy.defaultProvider) as LlmProviderName;
        usedBy.get(preferred)?.push(role);
      }
      const fallback =
        settings.llm.auto_fallback_on_rate_limit && forced === null ? settings.llm.fallback_provider : null;
      if (fallback) usedBy.get(fallback)?.push('fallback');

      const providers = LLM_PROVIDERS.map((name) => {
        const { executable, login } = checkProvider(settings, env, name);
        const limit = limitOf.get(name);
        return {
          name,
          used_by: usedBy.get(name) ?? [],
          executable,
          login,
          limited_until: limit ? new Date(Number(limit.limited_until)).toISOString() : null,
          limit_reason: limit?.reason ?? null,
          usable: executable.found && login.logged_in && !limit,
        };
      });
      const used = providers.filter((p) => p.used_by.length > 0);
      return {
        providers,
        default_provider: settings.llm.default_provider,
        fallback_provider: fallback,
        forced_provider: forced,
        can_run: used.some((p) => p.usable),
        logged_in_any: used.some((p) => p.executable.found && p.login.logged_in),
      };
    },
  );
};
