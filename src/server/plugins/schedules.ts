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
import { ScheduleSchema } from '../../domain/schedule-schema.js';

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
