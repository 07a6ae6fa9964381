/**
 * @module The task routes under `/api/tasks`: list (cursor pages), counts, show, create, cancel and retry.
 * Schemas here check the request's shape; the queue checks what a task may be (type, priority, payload), so the API
 * and the CLI answer a wrong task with the same error code and message.
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { isTaskType, ROLES, TASK_STATUSES, TASK_TYPES, TASK_TYPES_BY_ROLE } from '../../domain/roles.js';
import { taskListDetails } from '../../workflow/task-list-details.js';
import { AutodevError } from '../../errors.js';
import {
  boundedInt,
  idText,
  MAX_ATTEMPTS_LIMIT,
  storableText,
  TEXT_LIMITS,
  wholeNumberText,
} from '../../domain/input-policy.js';
import { MAX_PAGE_SIZE } from '../../queue/read-tasks.js';
import type { TaskQueue } from '../../queue/task-queue.js';
import { taskToJson } from '../../queue/task-record.js';
import { retryTaskByHand } from '../../workflow/retry-task-by-hand.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { requireRole } from './auth.js';
import { TaskCountsSchema, TaskPageSchema, TaskSchema } from '../../domain/task-schema.js';

const isoTime = z.iso.datetime({ offset: true });

const TaskIdParams = z.object({ id: idText('task id') });

const ListQuery = z.strictObject({
  status: z.enum(TASK_STATUSES).optional(),
  type: storableText({ max: TEXT_LIMITS.name }).optional().describe('A task type, e.g. write_spec.'),
  role: z.enum(ROLES).optional().describe('Only the task types of this role.'),
  story: idText('story id').optional().describe('Only the tasks of this story.'),
  limit: wholeNumberText('limit', 1, MAX_PAGE_SIZE).optional().describe(`Page size, 1..${MAX_PAGE_SIZE}; default 50.`),
  cursor: storableText({ max: TEXT_LIMITS.cursor }).optional().describe('The next_cursor of the previous page.'),
});

const NewTaskBody = z.strictObject({
  type: storableText({ max: TEXT_LIMITS.name }).describe(`The task type: ${TASK_TYPES.join(', ')}.`),
  priority: z.number().optional().describe('A whole number from 1 to 10; 10 runs first. Default 5.'),
  payload: z
    .unknown()
    .optional()
    .describe('A JSON object handed to the agent, at most 64 levels deep and 1 MiB serialized. Default {}.'),
  run_after: isoTime.optional().describe('Not before this time (ISO 8601 with a zone). Default now.'),
  max_attempts: boundedInt('max_attempts', 1, MAX_ATTEMPTS_LIMIT)
    .optional()
    .describe(`Attempts before the task ends failed, 1..${MAX_ATTEMPTS_LIMIT}. Default from settings.`),
});

// Nullish: Fastify hands a missing body to the validator as null.
const CancelBody = z
  .strictObject({
    reason: storableText({ trim: true, min: 1, max: TEXT_LIMITS.reason })
      .optional()
      .describe('Recorded as the task error.'),
  })
  .nullish();

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

export interface TasksOptions {
  queue: TaskQueue;
}

export const tasksPlugin: FastifyPluginAsyncZod<TasksOptions> = async (app, { queue }) => {
  const actor = (name: string | undefined) => `api:${name ?? 'unknown'}`;

  app.get(
    '/tasks',
    {
      schema: {
        summary: 'List tasks, newest first',
        tags: ['tasks'],
        querystring: ListQuery,
        response: { 200: TaskPageSchema, ...errors(400, 401) },
      },
    },
    async (request) => {
      const { status, type, role, story, limit, cursor } = request.query;
      if (type !== undefined && !isTaskType(type)) {
        throw new AutodevError(
          'UNKNOWN_TASK_TYPE',
          `unknown task type "${type}"; known types: ${TASK_TYPES.join(', ')}`,
        );
      }
      const page = await queue.list({
        status,
        type,
        types: role ? TASK_TYPES_BY_ROLE[role] : undefined,
        workflowId: story,
        limit,
        cursor,
      });
      const details = await taskListDetails(queue.handle.db, page.tasks, queue.clock());
      return {
        tasks: page.tasks.map((task) => ({ ...taskToJson(task), ...details.get(task.id)! })),
        next_cursor: page.nextCursor,
      };
    },
  );

  app.get(
    '/tasks/counts',
    {
      schema: {
        summary: 'Count tasks by status',
        tags: ['tasks'],
        response: { 200: TaskCountsSchema, ...errors(401) },
      },
    },
    async () => {
      const counts = await queue.countByStatus();
      return { counts, total: Object.values(counts).reduce((sum, n) => sum + n, 0) };
    },
  );

  app.post(
    '/tasks',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Create a task',
        tags: ['tasks'],
        body: NewTaskBody,
        response: { 201: TaskSchema, ...errors(400, 401, 403, 413, 415) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const task = await queue.enqueue({
        type: body.type,
        ...('priority' in body ? { priority: body.priority } : {}),
        ...('payload' in body ? { payload: body.payload } : {}),
        ...(body.run_after !== undefined ? { runAfter: Date.parse(body.run_after) } : {}),
        ...(body.max_attempts !== undefined ? { maxAttempts: body.max_attempts } : {}),
        createdBy: actor(request.apiToken?.name),
      });
      return reply.code(201).header('location', `/api/tasks/${task.id}`).send(taskToJson(task));
    },
  );

  app.get(
    '/tasks/:id',
    {
      schema: {
        summary: 'Show a task',
        tags: ['tasks'],
        params: TaskIdParams,
        response: { 200: TaskSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) => taskToJson(await queue.get(request.params.id)),
  );

  app.post(
    '/tasks/:id/cancel',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Cancel a pending or in-progress task',
        tags: ['tasks'],
        params: TaskIdParams,
        body: CancelBody,
        response: { 200: TaskSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      taskToJson(await queue.cancel(request.params.id, actor(request.apiToken?.name), request.body?.reason)),
  );

  app.post(
    '/tasks/:id/retry',
    {
      onRequest: requireRole('approver'),
      schema: {
        summary: 'Retry a failed or cancelled task with fresh attempts',
        tags: ['tasks'],
        params: TaskIdParams,
        response: { 200: TaskSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => taskToJson(await retryTaskByHand(queue, request.params.id, actor(request.apiToken?.name))),
  );
};
