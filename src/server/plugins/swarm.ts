/**
 * @module The swarm's routes. Discussions: `GET /api/discussions?topic=&recent=` (the newest messages, the topics
 * and how many messages each has), `POST /api/discussions` (a new thread `{topic, body}` or a reply
 * `{reply_to, body}`). Proposals: `GET /api/proposals?status=` (with votes), `POST /api/proposals`,
 * `POST /api/proposals/:id/vote|approve|reject` (approving starts the story or the `build_product` task, rejecting
 * keeps the reason). `GET /api/swarm/status`. Reading needs a viewer token; writing an approver (the author or voter
 * is `api:<token name>`). Agents write text too (untrusted): it is returned as stored; the dashboard sanitizes it.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { readSwarmStatus } from '../../agents/swarm-status.js';
import { idText, storableText, TEXT_LIMITS, wholeNumberText } from '../../domain/input-policy.js';
import type { TaskQueue } from '../../queue/task-queue.js';
import {
  DISCUSSION_LIMITS,
  discussionToJson,
  listDiscussions,
  listTopics,
  postDiscussion,
} from '../../workflow/discussions.js';
import {
  createProposal,
  decideProposal,
  getProposal,
  MAX_LISTED_PROPOSALS,
  PROPOSAL_KINDS,
  PROPOSAL_STATUSES,
  proposalsToJson,
  listProposals,
  VOTE_DIRECTIONS,
  voteOnProposal,
} from '../../workflow/proposals.js';
import { MAX_BODY_CHARS } from '../../workflow/stories.js';
import { workflowDeps } from '../../workflow/workflow-deps.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { requireRole } from './auth.js';
import type { SameMembers } from '../../domain/same-members.js';
import {
  DiscussionSchema,
  DiscussionsResponseSchema,
  MAX_LISTED_TOPICS,
  ProposalSchema,
  SwarmStatusSchema,
} from '../../domain/swarm-schema.js';

/** `recent` when not given, and its ceiling: the page size is bounded. */
export const DEFAULT_RECENT_DISCUSSIONS = 50;
export const MAX_RECENT_DISCUSSIONS = 500;
export { MAX_LISTED_TOPICS };
export { MAX_LISTED_PROPOSALS, PROPOSAL_STATUSES };

/** The schema's enums are the workflow's (a compile error when one list changes alone). */
type ProposalView = z.infer<typeof ProposalSchema>;
const sameProposalEnums: [
  SameMembers<(typeof PROPOSAL_KINDS)[number], ProposalView['kind']>,
  SameMembers<(typeof PROPOSAL_STATUSES)[number], ProposalView['status']>,
  SameMembers<(typeof VOTE_DIRECTIONS)[number], ProposalView['votes'][number]['vote']>,
] = [true, true, true];
void sameProposalEnums;

const DiscussionsQuery = z.strictObject({
  topic: storableText({ trim: true, min: 1, max: TEXT_LIMITS.filter })
    .optional()
    .describe('Only messages of this topic (exact match).'),
  recent: wholeNumberText('recent', 1, MAX_RECENT_DISCUSSIONS)
    .default(DEFAULT_RECENT_DISCUSSIONS)
    .describe(
      `How many of the newest messages to return (newest first): a count from 1 to ${MAX_RECENT_DISCUSSIONS}, ` +
        `default ${DEFAULT_RECENT_DISCUSSIONS}.`,
    ),
});

const DiscussionBody = z.strictObject({
  topic: storableText({ trim: true, min: 1, max: DISCUSSION_LIMITS.topicMaxChars })
    .optional()
    .describe('The topic of a new thread; a reply may leave it out (it takes its thread’s).'),
  body: storableText({ trim: true, min: 1, max: DISCUSSION_LIMITS.bodyMaxChars }).describe('The message (markdown).'),
  reply_to: z.int().min(1).optional().describe('The id of the message this one answers.'),
});

const ProposalsQuery = z.strictObject({
  status: z.enum(PROPOSAL_STATUSES).optional().describe('Only proposals in this status; absent: all.'),
});

const ProposalBody = z.strictObject({
  title: storableText({ trim: true, min: 1, max: TEXT_LIMITS.title }),
  body: storableText({ trim: true, min: 1, max: MAX_BODY_CHARS }),
  kind: z.enum(PROPOSAL_KINDS).default('story'),
  repo: storableText({ trim: true, min: 1, max: TEXT_LIMITS.name })
    .optional()
    .describe('The repository a story proposal is for (may be chosen at approval instead).'),
});

const VoteBody = z.strictObject({
  vote: z.enum(VOTE_DIRECTIONS),
  reason: storableText({ max: TEXT_LIMITS.reason }).optional(),
});

// Nullish: Fastify hands a missing body to the validator as null.
const ApproveBody = z
  .strictObject({
    reason: storableText({ max: TEXT_LIMITS.reason }).optional(),
    repo: storableText({ trim: true, min: 1, max: TEXT_LIMITS.name })
      .optional()
      .describe("For a story proposal that names no repository: where the story runs (overrides the proposal's)."),
  })
  .nullish();
const RejectBody = z
  .strictObject({ reason: storableText({ max: TEXT_LIMITS.reason }).optional().describe('Why; required, kept.') })
  .nullish();

const IdParams = z.object({ id: idText('proposal id') });

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface SwarmOptions {
  queue: TaskQueue;
  maxFixRounds: number;
  clock: () => number;
  dailyBudget: number;
}

export const swarmPlugin: FastifyPluginAsyncZod<SwarmOptions> = async (app, options) => {
  const { queue, clock } = options;
  const db = queue.handle.db;
  const actor = (name: string | undefined) => `api:${name ?? 'unknown'}`;
  const workflow = workflowDeps(queue, options.maxFixRounds);

  app.get(
    '/discussions',
    {
      schema: {
        summary: 'Swarm discussion messages, newest first, and the topics',
        description:
          `\`recent\` is a count of messages (1-${MAX_RECENT_DISCUSSIONS}, default ${DEFAULT_RECENT_DISCUSSIONS}); ` +
          '`topic` keeps one topic. Agents post with the post_discussion tool; each post records a ' +
          '`discussion.posted` event on /api/events.',
        tags: ['swarm'],
        querystring: DiscussionsQuery,
        response: { 200: DiscussionsResponseSchema, ...errors(400, 401) },
      },
    },
    async (request) => {
      const { topic, recent } = request.query;
      const rows = await listDiscussions(db, { topic, recent });
      const topics = await listTopics(db, MAX_LISTED_TOPICS);
      return {
        discussions: rows.map(discussionToJson),
        topics: topics.map((t) => ({ ...t, last_at: new Date(t.last_at).toISOString() })),
      };
    },
  );

  app.post(
    '/discussions',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Post a message: a new thread ({topic, body}) or a reply ({reply_to, body})',
        tags: ['swarm'],
        body: DiscussionBody,
        response: { 201: DiscussionSchema, ...errors(400, 401, 403, 404, 415) },
      },
    },
    async (request, reply) => {
      const row = await postDiscussion(db, {
        topic: request.body.topic,
        body: request.body.body,
        replyTo: request.body.reply_to,
        author: actor(request.apiToken?.name),
        authorKind: 'human',
        now: clock(),
      });
      return reply.code(201).send(discussionToJson(row));
    },
  );

  app.get(
    '/proposals',
    {
      schema: {
        summary: `Swarm proposals with their votes and status, newest first (at most ${MAX_LISTED_PROPOSALS})`,
        tags: ['swarm'],
        querystring: ProposalsQuery,
        response: { 200: z.object({ proposals: z.array(ProposalSchema) }), ...errors(400, 401) },
      },
    },
    async (request) => {
      const rows = await listProposals(db, { status: request.query.status });
      return { proposals: await proposalsToJson(db, rows) };
    },
  );

  app.post(
    '/proposals',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Propose work: a story on a repository, or a product for the product pipeline',
        tags: ['swarm'],
        body: ProposalBody,
        response: { 201: ProposalSchema, ...errors(400, 401, 403, 404, 415) },
      },
    },
    async (request, reply) => {
      const row = await createProposal(db, {
        ...request.body,
        author: actor(request.apiToken?.name),
        now: clock(),
      });
      return reply.code(201).send((await proposalsToJson(db, [row]))[0]!);
    },
  );

  app.post(
    '/proposals/:id/vote',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Vote up or down on an open proposal; one vote per voter (409 ALREADY_VOTED)',
        tags: ['swarm'],
        params: IdParams,
        body: VoteBody,
        response: { 200: ProposalSchema, ...errors(400, 401, 403, 404, 409, 415) },
      },
    },
    async (request) => {
      const row = await voteOnProposal(db, {
        proposalId: request.params.id,
        voter: actor(request.apiToken?.name),
        vote: request.body.vote,
        reason: request.body.reason,
        now: clock(),
      });
      return (await proposalsToJson(db, [row]))[0]!;
    },
  );

  app.post(
    '/proposals/:id/approve',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Approve an open proposal: its story starts (or its build_product task is queued), linked both ways',
        tags: ['swarm'],
        params: IdParams,
        body: ApproveBody,
        response: { 200: ProposalSchema, ...errors(400, 401, 403, 404, 409, 415) },
      },
    },
    async (request) => {
      const row = await decideProposal(db, workflow, {
        id: request.params.id,
        decision: 'approved',
        reason: request.body?.reason,
        repo: request.body?.repo,
        actor: actor(request.apiToken?.name),
      });
      return (await proposalsToJson(db, [row]))[0]!;
    },
  );

  app.post(
    '/proposals/:id/reject',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Reject an open proposal with a reason (kept with the proposal)',
        tags: ['swarm'],
        params: IdParams,
        body: RejectBody,
        response: { 200: ProposalSchema, ...errors(400, 401, 403, 404, 409, 415) },
      },
    },
    async (request) => {
      await getProposal(db, request.params.id);
      const row = await decideProposal(db, workflow, {
        id: request.params.id,
        decision: 'rejected',
        reason: request.body?.reason,
        actor: actor(request.apiToken?.name),
      });
      return (await proposalsToJson(db, [row]))[0]!;
    },
  );

  app.get(
    '/swarm/status',
    {
      schema: {
        summary: 'The swarm at a glance: agents, queue, spend today, rate limits, open approvals, latest message',
        tags: ['swarm'],
        response: { 200: SwarmStatusSchema, ...errors(401) },
      },
    },
    async () => readSwarmStatus(db, { now: clock(), dailyBudget: options.dailyBudget }),
  );
};
