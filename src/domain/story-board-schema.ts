/**
 * @module The story board's and story page's API shapes as zod schemas: the server validates and documents its
 * answers with them (OpenAPI), and the dashboard takes its types from them (`import type`, nothing bundled), so no
 * shape is copied by hand between `src/` and `web/`. Imports only zod. Times are ISO 8601 with a zone.
 */
import { z } from 'zod';

export const IsoTime = z.iso.datetime({ offset: true }).describe('ISO 8601 with a zone, e.g. 2026-12-06T10:00:00.000Z');

/** The board's columns, in order. */
export const BOARD_COLUMNS = [
  'story',
  'spec',
  'spec_approval',
  'implement',
  'gates',
  'merge_approval',
  'merge',
  'deploy',
  'done',
  'waiting_for_human',
] as const;
export type BoardColumn = (typeof BOARD_COLUMNS)[number];

export const GateBadgeSchema = z.enum(['passed', 'failed', 'running']).nullable();

export const StoryCardSchema = z
  .object({
    id: z.int(),
    title: z.string(),
    repo: z.string().nullable().describe('The repository name'),
    column: z.enum(BOARD_COLUMNS),
    status: z.string(),
    round: z.int().describe('0 for the feature, n for the n-th fix round'),
    gates: z.object({ review: GateBadgeSchema, tests: GateBadgeSchema, security: GateBadgeSchema }),
    cost_usd: z.number(),
    tokens: z.int(),
    waits_for: z
      .string()
      .nullable()
      .describe('"approver" (an approval is open), "human" (stopped), a role working on it, or null when done'),
    created_at: IsoTime,
    updated_at: IsoTime,
  })
  .meta({ id: 'StoryCard' });
export type StoryCard = z.infer<typeof StoryCardSchema>;

export const StoryBoardSchema = z
  .object({
    columns: z.array(z.enum(BOARD_COLUMNS)),
    stories: z.array(StoryCardSchema).describe('One page of stories, newest first'),
    repos: z.array(z.string()).describe('Every repository name, for the filter'),
    next_cursor: z
      .string()
      .nullable()
      .describe('Pass as `cursor` for the next (older) page of stories; null on the last page'),
  })
  .meta({ id: 'StoryBoard' });
export type StoryBoard = z.infer<typeof StoryBoardSchema>;

export const TimelineSessionSchema = z.object({
  id: z.int(),
  role: z.string(),
  provider: z.string(),
  status: z.string(),
  tokens: z.int(),
  cost_usd: z.number(),
  started_at: IsoTime,
  finished_at: IsoTime.nullable(),
});

export const TimelineTaskSchema = z.object({
  id: z.int(),
  type: z.string(),
  role: z.string(),
  status: z.string(),
  round: z.int().nullable(),
  error: z.string().nullable(),
  created_at: IsoTime,
  finished_at: IsoTime.nullable(),
  sessions: z.array(TimelineSessionSchema),
});

export const TimelineGateSchema = z.object({
  gate: z.string(),
  round: z.int(),
  passed: z.boolean().nullable(),
  findings: z.array(z.string()),
  task_id: z.int(),
});

export const TimelineApprovalSchema = z.object({
  id: z.int(),
  kind: z.string(),
  status: z.string(),
  title: z.string(),
  decided_by: z.string().nullable(),
  reason: z.string().nullable(),
  decided_at: IsoTime.nullable(),
  created_at: IsoTime,
});

export const StoryTimelineSchema = z
  .object({
    id: z.int(),
    title: z.string(),
    body: z.string(),
    repo: z.string().nullable(),
    status: z.string(),
    column: z.enum(BOARD_COLUMNS),
    round: z.int(),
    branch: z.string().nullable(),
    human_summary: z.string().nullable(),
    halt_reason: z.string().nullable(),
    deployment: z.object({ outcome: z.string(), summary: z.string() }).nullable(),
    stages: z.array(z.object({ stage: z.string(), reached: z.boolean(), tasks: z.array(TimelineTaskSchema) })),
    gates: z.array(TimelineGateSchema),
    approvals: z.array(TimelineApprovalSchema),
    merge_requests: z.array(
      z.object({
        id: z.int(),
        status: z.string(),
        source_branch: z.string(),
        target_branch: z.string(),
        head_sha: z.string().nullable(),
        merge_sha: z.string().nullable(),
      }),
    ),
    commits: z.array(z.string()).describe('Commits the builder reported, newest round last'),
    cost: z.object({
      total_usd: z.number(),
      total_tokens: z.int(),
      by_role: z.array(z.object({ role: z.string(), cost_usd: z.number(), tokens: z.int() })),
    }),
    created_at: IsoTime,
    updated_at: IsoTime,
  })
  .meta({ id: 'StoryTimeline' });
export type StoryTimeline = z.infer<typeof StoryTimelineSchema>;
