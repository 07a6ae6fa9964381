/**
 * @module `GET /api/providers`' answer as zod schemas, for the server's OpenAPI and the dashboard's types (`import
 * type`). Imports only zod. Times are ISO 8601 with a zone.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

const isoTime = IsoTime;
/** The LLM providers (`LLM_PROVIDERS` of the settings; the providers plugin checks the two agree). */
export const PROVIDER_NAMES = ['claude', 'codex'] as const;

export const ProviderStatusSchema = z
  .object({
    name: z.enum(PROVIDER_NAMES),
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

export const ProvidersResponseSchema = z.object({
  providers: z.array(ProviderStatusSchema),
  default_provider: z.enum(PROVIDER_NAMES),
  fallback_provider: z.enum(PROVIDER_NAMES).nullable(),
  forced_provider: z
    .enum(PROVIDER_NAMES)
    .nullable()
    .describe('Named by the manual override variable (llm.manual_override_env), when set.'),
  can_run: z.boolean().describe('At least one provider the agents use is usable now.'),
  logged_in_any: z.boolean().describe('At least one provider the agents use has an executable and credentials.'),
});

export type ProviderStatus = z.infer<typeof ProviderStatusSchema>;
export type ProvidersResponse = z.infer<typeof ProvidersResponseSchema>;
