/**
 * @module The swarm's read-only routes: `GET /api/discussions?topic=&recent=` (the newest discussion messages, with
 * the topics and how many messages each has) and `GET /api/proposals?status=` (proposals with votes and status).
 * Viewer role and up. Agents write the text (untrusted): it is returned as stored; the dashboard sanitizes it.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import { storableText, TEXT_LIMITS, wholeNumberText } from '../../domain/input-policy.js';
import { ErrorResponseSchema } from '../error-handler.js';

/** `recent` when not given, and its ceiling: the page size is bounded. */
export const DEFAULT_RECENT_DISCUSSIONS = 50;
export const MAX_RECENT_DISCUSSIONS = 500;
/** Topics listed beside the messages (the most recently active first). */
export const MAX_LISTED_TOPICS = 100;
/** Proposals per answer (newest first). */
export const MAX_LISTED_PROPOSALS = 200;
export const PROPOSAL_STATUSES = ['open', 'approved', 'rejected'] as const;

const isoTime = z.iso.datetime({ offset: true });
const iso = (ms: number) => new Date(Number(ms)).toISOString();

export const DiscussionSchema = z
  .object({
    id: z.int(),
    topic: z.string(),
    author: z.string().describe('Who posted: the agent (role and instance) or a human.'),
    body: z.string().describe('Markdown written by an agent: untrusted, sanitize before rendering as HTML.'),
    created_at: isoTime,
  })
  .meta({ id: 'Discussion' });

export const ProposalSchema = z
  .object({
    id: z.int(),
    title: z.string(),
    body: z.string().describe('Markdown written by an agent: untrusted, sanitize before rendering as HTML.'),
    author: z.string(),
    votes_for: z.int(),
    votes_against: z.int(),
    status: z.enum(PROPOSAL_STATUSES),
    created_at: isoTime,
    updated_at: isoTime,
  })
  .meta({ id: 'Proposal' });

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

const ProposalsQuery = z.strictObject({
  status: z.enum(PROPOSAL_STATUSES).optional().describe('Only proposals in this status; absent: all.'),
});

const DiscussionsResponse = z.object({
  discussions: z.array(DiscussionSchema),
  topics: z
    .array(z.object({ topic: z.string(), messages: z.int(), last_at: isoTime }))
    .describe(`Every topic (at most ${MAX_LISTED_TOPICS}, most recently active first), whatever the filter.`),
});

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface SwarmOptions {
  db: Kysely<Database>;
}

export const swarmPlugin: FastifyPluginAsyncZod<SwarmOptions> = async (app, { db }) => {
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
        response: { 200: DiscussionsResponse, ...errors(400, 401) },
      },
    },
    async (request) => {
      const { topic, recent } = request.query;
      let query = db.selectFrom('discussions').select(['id', 'topic', 'author', 'body', 'created_at']);
      if (topic !== undefined) query = query.where('topic', '=', topic);
      const rows = await query.orderBy('id', 'desc').limit(recent).execute();
      const topics = await db
        .selectFrom('discussions')
        .select((eb) => ['topic', eb.fn.countAll<number>().as('messages'), eb.fn.max('created_at').as('last_at')])
        .groupBy('topic')
        .orderBy('last_at', 'desc')
        .orderBy('topic')
        .limit(MAX_LISTED_TOPICS)
        .execute();
      return {
        discussions: rows.map((row) => ({
          id: Number(row.id),
          topic: row.topic,
          author: row.author,
          body: row.body,
          created_at: iso(row.created_at),
        })),
        topics: topics.map((row) => ({
          topic: row.topic,
          messages: Number(row.messages),
          last_at: iso(Number(row.last_at)),
        })),
      };
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
      let query = db.selectFrom('proposals').selectAll();
      if (request.query.status !== undefined) query = query.where('status', '=', request.query.status);
      const rows = await query.orderBy('id', 'desc').limit(MAX_LISTED_PROPOSALS).execute();
      return {
        proposals: rows.map((row) => ({
          id: Number(row.id),
          title: row.title,
          body: row.body,
          author: row.author,
          votes_for: Number(row.votes_for),
          votes_against: Number(row.votes_against),
          status: row.status,
          created_at: iso(row.created_at),
          updated_at: iso(row.updated_at),
        })),
      };
    },
  );
};
