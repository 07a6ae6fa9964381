/**
 * @module The story routes: `POST /api/stories` starts a story workflow at the PM on a registered repository;
 * `GET /api/stories` and `GET /api/stories/:id` show stage, tasks, approvals and merge requests;
 * `POST /api/stories/:id/resume` `{"note"?}` continues one that waits for a human (approvers).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { TaskQueue } from '../../queue/task-queue.js';
import { resumeWorkflow } from '../../workflow/advance-workflow.js';
import { createStory, listStories, showStory, storyToJson } from '../../workflow/stories.js';
import { workflowDeps } from '../../workflow/workflow-deps.js';
import { idText, storableText, TEXT_LIMITS } from '../../domain/input-policy.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { requireRole } from './auth.js';
import { StorySchema } from '../../domain/story-schema.js';

const NewStoryBody = z.strictObject({
  repo: storableText({ min: 1, max: TEXT_LIMITS.name }).describe('A repository name from GET /api/repos.'),
  title: storableText({ max: TEXT_LIMITS.title }).describe(`1 to ${TEXT_LIMITS.title} characters.`),
  body: storableText({ max: TEXT_LIMITS.body }).optional().describe(`At most ${TEXT_LIMITS.body} characters.`),
});

const ResumeBody = z
  .strictObject({
    note: storableText({ max: TEXT_LIMITS.reason })
      .optional()
      .describe('Guidance for the agents: added to the findings or the task.'),
  })
  .nullish();

const IdParams = z.object({ id: idText('story id') });

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface StoriesOptions {
  queue: TaskQueue;
  maxFixRounds: number;
}

export const storiesPlugin: FastifyPluginAsyncZod<StoriesOptions> = async (app, { queue, maxFixRounds }) => {
  app.get(
    '/stories',
    {
      schema: {
        summary: 'List stories, newest first',
        tags: ['stories'],
        response: { 200: z.object({ stories: z.array(StorySchema) }), ...errors(401) },
      },
    },
    async () => ({ stories: (await listStories(queue.handle.db)).map(storyToJson) }),
  );

  app.get(
    '/stories/:id',
    {
      schema: {
        summary: 'A story with its tasks, approvals and merge requests',
        tags: ['stories'],
        params: IdParams,
        response: { 200: z.record(z.string(), z.unknown()), ...errors(400, 401, 404) },
      },
    },
    async (request) => showStory(queue.handle.db, request.params.id),
  );

  app.post(
    '/stories',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Start a story workflow at the PM',
        tags: ['stories'],
        body: NewStoryBody,
        response: { 201: StorySchema, ...errors(400, 401, 403, 404, 415) },
      },
    },
    async (request, reply) => {
      const row = await createStory(queue.handle.db, workflowDeps(queue, maxFixRounds), {
        ...request.body,
        actor: `api:${request.apiToken?.name ?? 'unknown'}`,
      });
      return reply.code(201).header('location', `/api/stories/${row.id}`).send(storyToJson(row));
    },
  );

  app.post(
    '/stories/:id/resume',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Resume a story that waits for a human',
        description:
          'After the fix limit or a fix round without progress: one more fix round with the open findings and the ' +
          'note. After a failed or blocked task: that task again with the note. A story that is not waiting: 409 ' +
          'WORKFLOW_NOT_WAITING, nothing changed.',
        tags: ['stories'],
        params: IdParams,
        body: ResumeBody,
        response: { 200: StorySchema, ...errors(400, 401, 403, 404, 409, 415) },
      },
    },
    async (request) => {
      const row = await resumeWorkflow(queue.handle.db, workflowDeps(queue, maxFixRounds), request.params.id, {
        note: request.body?.note,
        actor: `api:${request.apiToken?.name ?? 'unknown'}`,
      });
      return storyToJson(row);
    },
  );
};
