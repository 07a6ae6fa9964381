/**
 * @module The repository routes' answer (`GET /api/repos`, register, edit) as zod schemas: the server validates and documents its answers with them (OpenAPI) and the
 * dashboard takes its types from them (`import type`, nothing bundled). Imports only zod. Times are ISO 8601 with a
 * zone.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

/** How approved changes land (`MERGE_METHODS` of forge/repositories.ts; the repos plugin checks the two agree). */
export const MERGE_METHOD_NAMES = ['merge', 'squash'] as const;

export const RepositorySchema = z
  .object({
    id: z.int(),
    name: z.string(),
    forge: z.enum(['local', 'gitlab', 'github']),
    location: z.string(),
    default_branch: z.string(),
    test_command: z.string().nullable(),
    deploy_command: z.string().nullable(),
    lint_command: z.string().nullable(),
    coverage_threshold: z.number().nullable().describe('The test gate fails below this coverage percentage'),
    deploy_secrets: z.array(z.string()).describe('Environment variables (names) the deploy command gets'),
    merge_method: z
      .enum(MERGE_METHOD_NAMES)
      .describe('How approved changes land: a merge commit or one squashed commit'),
    remote_url: z.string().nullable().describe('GitLab/GitHub: the git remote task branches are pushed to'),
    forge_project: z.string().nullable().describe('GitLab GROUP/NAME or GitHub OWNER/NAME'),
    forge_url: z.string().nullable().describe("The project's page on the forge"),
    forge_events: z
      .enum(['webhook', 'poll'])
      .describe("How the forge's events arrive: its webhooks, or polled by the scheduler service"),
    created_at: IsoTime,
  })
  .meta({ id: 'Repository' });

export type Repository = z.infer<typeof RepositorySchema>;
export type MergeMethod = Repository['merge_method'];
export type ForgeKind = Repository['forge'];
