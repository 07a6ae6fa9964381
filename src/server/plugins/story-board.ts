/**
 * @module The story board's routes: `GET /api/story-board?repo=&status=&limit=&cursor=` (the stories as cards, a page
 * at a time, newest first, for the dashboard's landing page), `GET /api/stories/:id/timeline` (one story's whole
 * life; both any token) and `POST /api/stories/:id/cancel` `{"reason"?}` (approvers). Shapes from
 * `domain/story-board-schema.ts`, which the dashboard's types come from too.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { TaskQueue } from '../../queue/task-queue.js';
import { idText, storableText, TEXT_LIMITS, wholeNumberText } from '../../domain/input-policy.js';
import { StoryBoardSchema, StoryTimelineSchema } from '../../domain/story-board-schema.js';
import { DEFAULT_BOARD_PAGE, MAX_BOARD_PAGE, storyBoard, storyTimeline } from '../../workflow/story-board.js';
import { cancelStory } from '../../workflow/cancel-story.js';
import { storyToJson } from '../../workflow/stories.js';
import { StorySchema } from '../../domain/story-schema.js';
import { requireRole } from './auth.js';
import { ErrorResponseSchema } from '../error-handler.js';

const BoardQuery = z.strictObject({
  repo: storableText({ max: TEXT_LIMITS.name }).optional().describe('Only stories of this repository'),
  status: z.enum(['running', 'waiting_for_human', 'completed', 'cancelled']).optional(),
  limit: wholeNumberText('limit', 1, MAX_BOARD_PAGE)
    .optional()
    .describe(`Stories per page, 1..${MAX_BOARD_PAGE}; default ${DEFAULT_BOARD_PAGE}.`),
  cursor: storableText({ max: TEXT_LIMITS.cursor }).optional().describe('The next_cursor of the previous page.'),
});

const CancelBody = z
  .strictObject({ reason: storableText({ max: TEXT_LIMITS.reason }).optional().describe('Why; kept on its tasks') })
  .nullish();

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export const storyBoardPlugin: FastifyPluginAsyncZod<{ queue: TaskQueue }> = async (app, { queue }) => {
  app.get(
    '/story-board',
    {
      schema: {
        summary: 'The stories as board cards, a page at a time, newest first',
        tags: ['stories'],
        querystring: BoardQuery,
        response: { 200: StoryBoardSchema, ...errors(400, 401) },
      },
    },
    async (request) => storyBoard(queue.handle.db, request.query),
  );

  app.get(
    '/stories/:id/timeline',
    {
      schema: {
        summary: "A story's whole life: stages, tasks, sessions, gate rounds, approvals, merge requests, cost",
        tags: ['stories'],
        params: z.object({ id: idText('story id') }),
        response: { 200: StoryTimelineSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => storyTimeline(queue.handle.db, request.params.id),
  );

  app.post(
    '/stories/:id/cancel',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Cancel a running or waiting story',
        description:
          'Its pending and in-progress tasks are cancelled and its open approvals rejected, in one transaction; ' +
          'nothing moves it on afterwards. A story done or cancelled already: 409 STORY_NOT_CANCELLABLE.',
        tags: ['stories'],
        params: z.object({ id: idText('story id') }),
        body: CancelBody,
        response: { 200: StorySchema, ...errors(400, 401, 403, 404, 409, 415) },
      },
    },
    async (request) =>
      storyToJson(
        await cancelStory(queue.handle.db, request.params.id, {
          actor: `api:${request.apiToken?.name ?? 'unknown'}`,
          reason: request.body?.reason,
          now: queue.clock(),
        }),
      ),
  );
};
