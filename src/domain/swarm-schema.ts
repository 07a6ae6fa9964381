/**
 * @module The swarm routes' answers (`GET /api/discussions`, `/api/proposals`, `/api/swarm/status`) as zod schemas: the server validates and documents its answers with them (OpenAPI) and the
 * dashboard takes its types from them (`import type`, nothing bundled). Imports only zod. Times are ISO 8601 with a
 * zone.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

const isoTime = IsoTime;
const nullableId = z.int().nullable();
const PROPOSAL_KINDS = ['story', 'product'] as const;
const PROPOSAL_STATUSES = ['open', 'approved', 'rejected'] as const;
const VOTE_DIRECTIONS = ['up', 'down'] as const;
/** Topics listed beside the messages (the most recently active first). */
export const MAX_LISTED_TOPICS = 100;

export const DiscussionSchema = z
  .object({
    id: z.int(),
    topic: z.string(),
    author: z
      .string()
      .describe("Who posted: the agent's instance id (role@host:pid#n) or api:/cli: and a human's name."),
    author_kind: z.enum(['agent', 'human']),
    body: z.string().describe('Markdown written by an agent or a person: untrusted, sanitize before rendering.'),
    reply_to: nullableId.describe('The message this one answers (same topic); null starts a thread.'),
    task_id: nullableId.describe('The task an agent posted from.'),
    created_at: isoTime,
  })
  .meta({ id: 'Discussion' });

export const ProposalSchema = z
  .object({
    id: z.int(),
    title: z.string(),
    body: z.string().describe('Markdown written by an agent: untrusted, sanitize before rendering as HTML.'),
    kind: z.enum(PROPOSAL_KINDS).describe('story: a story on a repository; product: a build_product task.'),
    author: z.string(),
    repo_id: nullableId,
    source_task_id: nullableId,
    votes_for: z.int(),
    votes_against: z.int(),
    votes: z.array(
      z.object({
        voter: z.string(),
        vote: z.enum(VOTE_DIRECTIONS),
        reason: z.string().nullable(),
        created_at: isoTime,
      }),
    ),
    status: z.enum(PROPOSAL_STATUSES),
    decided_by: z.string().nullable(),
    decided_at: isoTime.nullable(),
    reason: z.string().nullable().describe("A rejection's reason, or an approval's note."),
    workflow_id: nullableId.describe('The story an approval started.'),
    task_id: nullableId.describe('The build_product task an approval started.'),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .meta({ id: 'Proposal' });

export const DiscussionsResponseSchema = z.object({
  discussions: z.array(DiscussionSchema),
  topics: z
    .array(z.object({ topic: z.string(), messages: z.int(), last_at: isoTime }))
    .describe(`Every topic (at most ${MAX_LISTED_TOPICS}, most recently active first), whatever the filter.`),
});

export const SwarmStatusSchema = z
  .object({
    agents: z.array(
      z.object({
        role: z.string(),
        instance_id: z.string(),
        state: z.string(),
        current_task_id: nullableId,
        provider: z.string().nullable(),
        detail: z.string().nullable(),
        heartbeat_at: isoTime,
      }),
    ),
    agents_folded: z.object({ stopped: z.int(), crashed: z.int() }),
    agents_folded_text: z.string().nullable(),
    queue: z.record(z.string(), z.int()),
    today: z.object({
      tokens: z.number(),
      cost_usd: z.number(),
      daily_budget: z.number(),
      budget_used: z.number().nullable().describe('Tokens today / daily budget; null without a budget.'),
    }),
    rate_limited: z.array(z.object({ provider: z.string(), until: isoTime })),
    open_approvals: z.array(
      z.object({ id: z.int(), kind: z.string(), title: z.string(), workflow_id: nullableId, created_at: isoTime }),
    ),
    open_proposals: z.array(
      z.object({
        id: z.int(),
        title: z.string(),
        kind: z.string(),
        votes_for: z.int(),
        votes_against: z.int(),
        created_at: isoTime,
      }),
    ),
    latest_discussion: DiscussionSchema.nullable(),
  })
  .meta({ id: 'SwarmStatus' });

export type Discussion = z.infer<typeof DiscussionSchema>;
export type Proposal = z.infer<typeof ProposalSchema>;
export type DiscussionsResponse = z.infer<typeof DiscussionsResponseSchema>;
export type SwarmStatus = z.infer<typeof SwarmStatusSchema>;
