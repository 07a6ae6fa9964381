/**
 * @module What the task list adds to each task (`GET /api/tasks`): its story and title, role, provider, duration and
 * cost, as a zod schema the server documents its answers with and the dashboard takes its types from (`import
 * type`). Imports only zod.
 */
import { z } from 'zod';

export const TaskListExtrasSchema = z.object({
  story: z.object({ id: z.int(), title: z.string() }).nullable().describe('The story the task belongs to'),
  role: z.string().nullable().describe('The role that runs this task type'),
  provider: z.string().nullable().describe('The provider of its latest session'),
  duration_ms: z.int().nullable().describe('From its start to its end (or now while it runs)'),
  cost_usd: z.number().describe('All its sessions together'),
  tokens: z.int(),
});
export type TaskListExtras = z.infer<typeof TaskListExtrasSchema>;
