/**
 * @module `GET /api/providers`: per LLM provider (claude, codex), whether a session could run on it now: the CLI
 * executable the runtime would start exists, credentials are present (`llm/provider-status.ts`: a key variable in
 * the session's environment, or the file the CLI's login writes; never the secret), and it is not rate limited. Also
 * which roles use it (by `llm.default_provider`, `agents.<role>.provider`, the manual override variable, and the
 * fallback). The dashboard says plainly, with what to do, when no provider the agents use can run. `replay` (tests
 * and the demo) is not listed: it needs no login.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import { checkProvider } from '../../agents/provider-readiness.js';
import { providerPolicy } from '../../agents/run-agent-task.js';
import { LLM_PROVIDERS, type LlmProviderName, type Settings } from '../../config/settings-schema.js';
import { ROLES, type Role } from '../../domain/roles.js';
import type { Database } from '../../store/schema.js';
import { ErrorResponseSchema } from '../error-handler.js';

const isoTime = z.iso.datetime({ offset: true });

const ProviderStatusSchema = z
  .object({
    name: z.enum(LLM_PROVIDERS),
    used_by: z.array(z.string()).describe('Roles whose sessions run on it (preferred), and "fallback" when it is one.'),
    executable: z.object({
      found: z.boolean(),
      path: z.string().nullable().describe('The CLI a session would start; null when not found.'),
      problem: z.string().nullable().describe('Why it was not found, and the setting to change.'),
    }),
    login: z.object({
      logged_in: z.boolean(),
      via: z.string().nullable().describe('A variable name, a login file path or a setting. Never a secret.'),
      how_to_login: z.string(),
    }),
    limited_until: isoTime.nullable(),
    limit_reason: z.string().nullable(),
    usable: z.boolean().describe('Executable found, logged in and not rate limited.'),
  })
  .meta({ id: 'ProviderStatus' });

const ProvidersResponse = z.object({
  providers: z.array(ProviderStatusSchema),
  default_provider: z.enum(LLM_PROVIDERS),
  fallback_provider: z.enum(LLM_PROVIDERS).nullable(),
  forced_provider: z
    .enum(LLM_PROVIDERS)
    .nullable()
    .describe('Named by the manual override variable (llm.manual_override_env), when set.'),
  can_run: z.boolean().describe('At least one provider the agents use is usable now.'),
  logged_in_any: z.boolean().describe('At least one provider the agents use has an executable and credentials.'),
});

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
        response: { 200: ProvidersResponse, ...errors(401) },
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
