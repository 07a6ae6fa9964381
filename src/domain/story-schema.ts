/**
 * @module The story routes' answer (`GET /api/stories`, `/api/stories/:id`, create, resume) as zod schemas: the server validates and documents its answers with them (OpenAPI) and the
 * dashboard takes its types from them (`import type`, nothing bundled). Imports only zod. Times are ISO 8601 with a
 * zone.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

export const StorySchema = z
  .object({
    id: z.int(),
    title: z.string(),
    status: z.string(),
    stage: z.string(),
    repo_id: z.int().nullable(),
    fix_rounds: z.int(),
    branch: z.string().nullable(),
    human_summary: z.string().nullable(),
    halt: z
      .object({
        kind: z.enum(['fixes', 'task']),
        stage: z.string().nullable(),
        task_id: z.int().nullable(),
        task_type: z.string().nullable(),
        reason: z.string().nullable().describe("The agent's blocked_reason, or the error that dead-lettered the task"),
        branch: z.string().nullable().describe('The branch its work is on: a resume continues it'),
      })
      .nullable()
      .describe('Where a story waiting for a human stopped (null while it runs)'),
    deployment: z
      .object({ outcome: z.string(), summary: z.string() })
      .nullable()
      .describe('How the deployment ended; "skipped" says why nothing was deployed'),
    created_by: z.string(),
    proposal_id: z.int().nullable().describe('The swarm proposal whose approval started this story.'),
    created_at: IsoTime,
    updated_at: IsoTime,
  })
  .meta({ id: 'Story' });

export type Story = z.infer<typeof StorySchema>;
