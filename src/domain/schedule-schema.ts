/**
 * @module `GET /api/schedules`' answer as zod schemas: the server validates and documents its answers with them (OpenAPI) and the
 * dashboard takes its types from them (`import type`, nothing bundled). Imports only zod. Times are ISO 8601 with a
 * zone.
 */
import { z } from 'zod';
import { IsoTime } from './story-board-schema.js';

const isoTime = IsoTime;

export const ScheduleSchema = z
  .object({
    name: z.string(),
    cron: z.string(),
    timezone: z.string(),
    task_type: z.string(),
    per_repository: z.boolean(),
    enabled: z.boolean(),
    next_run_at: isoTime.nullable().describe('The next slot; null when disabled.'),
    last_run: z
      .object({
        slot_at: isoTime,
        fired_at: isoTime,
        fired_by: z.string().describe('The scheduler instance (host:pid:id) that fired it.'),
        task_ids: z.array(z.int()),
      })
      .nullable(),
  })
  .meta({ id: 'Schedule' });

export type Schedule = z.infer<typeof ScheduleSchema>;
