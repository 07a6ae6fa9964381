/**
 * @module The task routes' answers (`GET /api/tasks`, `/api/tasks/counts`, `/api/tasks/:id`) as zod schemas: the server
 * validates and documents its answers with them (OpenAPI) and the dashboard takes its types from them (`import type`).
 * Imports only zod and the other domain schemas. Times are ISO 8601 with a zone.
 */
import { z } from 'zod';
import { TASK_STATUSES } from './roles.js';
import { IsoTime } from './story-board-schema.js';
import { TaskListExtrasSchema } from './task-list-schema.js';

const isoTime = IsoTime;

export const TaskSchema = z
  .object({
    id: z.int(),
    type: z.string(),
    status: z.enum(TASK_STATUSES),
    priority: z.int(),
    payload: z.record(z.string(), z.unknown()),
    result: z.unknown(),
    error: z.string().nullable(),
    attempts: z.int(),
    max_attempts: z.int(),
    run_after: isoTime,
    lease_owner: z.string().nullable(),
    lease_expires_at: isoTime.nullable(),
    parent_id: z.int().nullable(),
    workflow_id: z.int().nullable(),
    repo_id: z.int().nullable(),
    created_by: z.string(),
    created_at: isoTime,
    updated_at: isoTime,
    started_at: isoTime.nullable(),
    finished_at: isoTime.nullable(),
  })
  .meta({ id: 'Task' });

export const TaskPageSchema = z.object({
  tasks: z.array(TaskSchema.extend(TaskListExtrasSchema.shape)),
  next_cursor: z.string().nullable(),
});

export const TaskCountsSchema = z.object({
  counts: z.record(z.enum(TASK_STATUSES), z.int()),
  total: z.int(),
});

export type Task = z.infer<typeof TaskSchema>;
export type TaskPage = z.infer<typeof TaskPageSchema>;
export type TaskCounts = z.infer<typeof TaskCountsSchema>;
