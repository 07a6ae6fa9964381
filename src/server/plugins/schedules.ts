/**
 * @module `GET /api/schedules` (viewer and up): the schedules of settings.yaml with their next slot and last fired
 * run, as `autodev schedules list` shows them (`scheduler/list-schedules.ts`).
 */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Settings } from '../../config/settings-schema.js';
import { listSchedules } from '../../scheduler/list-schedules.js';
import type { Database } from '../../store/schema.js';
import { ErrorResponseSchema } from '../error-handler.js';

const isoTime = z.iso.datetime({ offset: true });

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

export interface SchedulesOptions {
  db: Kysely<Database>;
  settings: Settings;
  clock: () => number;
}

export const schedulesPlugin: FastifyPluginAsyncZod<SchedulesOptions> = async (app, { db, settings, clock }) => {
  app.get(
    '/schedules',
    {
      schema: {
        summary: 'The recurring schedules with their next and last runs',
        description:
          'Schedules come from `schedules:` in settings.yaml; each slot fires at most once however many schedulers run.',
        tags: ['schedules'],
        response: { 200: z.object({ schedules: z.array(ScheduleSchema) }), 401: ErrorResponseSchema },
      },
    },
    async () => ({ schedules: await listSchedules(db, settings, clock()) }),
  );
};
