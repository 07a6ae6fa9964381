/**
 * @module `GET /api/stats/activity?days=14`: per UTC day, tasks completed and failed (by the day they finished) and
 * session spend (USD and tokens, by the day the session started, as the daily budget counts them). The days are
 * bucketed in SQL with integer division of ms since the epoch, the same on SQLite and PostgreSQL; days without rows
 * are filled with zeros here, so the answer always has `days` buckets, oldest first, the last one today.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { startOfUtcDay } from '../../agents/session-store.js';
import type { Database } from '../../store/schema.js';
import { wholeNumberText } from '../../domain/input-policy.js';
import { ErrorResponseSchema } from '../error-handler.js';
import { ActivityResponseSchema, type ActivityBucket } from '../../domain/activity-schema.js';

export const DAY_MS = 86_400_000;
export const DEFAULT_ACTIVITY_DAYS = 14;
export const MAX_ACTIVITY_DAYS = 90;

const ActivityQuery = z.strictObject({
  days: wholeNumberText('days', 1, MAX_ACTIVITY_DAYS)
    .default(DEFAULT_ACTIVITY_DAYS)
    .describe(`How many UTC days, ending today: 1 to ${MAX_ACTIVITY_DAYS}, default ${DEFAULT_ACTIVITY_DAYS}.`),
});

export type { ActivityBucket };

const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, ErrorResponseSchema]));

/**
 * The day index of a time column: `(column - from) / 86400000` with both operands integers, so both engines divide
 * as integers (the column is never below `from`, so truncation is the floor). The constants are inlined as literals:
 * PostgreSQL must see the same expression in the select list and in GROUP BY.
 */
function dayIndex(column: 'tasks.finished_at' | 'sessions.started_at', from: number): RawBuilder<number> {
  return sql<number>`(${sql.ref(column)} - ${sql.lit(from)}) / ${sql.lit(DAY_MS)}`;
}

/** Buckets of the `days` UTC days ending with the day of `now`. */
export async function activityByDay(db: Kysely<Database>, days: number, now: number): Promise<ActivityBucket[]> {
  const from = startOfUtcDay(now) - (days - 1) * DAY_MS;
  const to = from + days * DAY_MS;
  const buckets: ActivityBucket[] = Array.from({ length: days }, (_, i) => ({
    day: new Date(from + i * DAY_MS).toISOString().slice(0, 10),
    completed: 0,
    failed: 0,
    cost_usd: 0,
    tokens: 0,
  }));

  const taskDay = dayIndex('tasks.finished_at', from);
  const tasks = await db
    .selectFrom('tasks')
    .select((eb) => [taskDay.as('day'), 'status', eb.fn.countAll<number>().as('n')])
    .where('status', 'in', ['completed', 'failed'])
    .where('finished_at', '>=', from)
    .where('finished_at', '<', to)
    .groupBy([taskDay, 'status'])
    .execute();
  for (const row of tasks) {
    const bucket = buckets[Number(row.day)];
    if (!bucket) continue;
    if (row.status === 'completed') bucket.completed += Number(row.n);
    else bucket.failed += Number(row.n);
  }

  const sessionDay = dayIndex('sessions.started_at', from);
  const sessions = await db
    .selectFrom('sessions')
    .select((eb) => [
      sessionDay.as('day'),
      eb.fn.coalesce(eb.fn.sum<number>('cost_usd'), eb.lit(0)).as('cost_usd'),
      eb.fn
        .coalesce(eb.fn.sum<number>(sql`${sql.ref('tokens_in')} + ${sql.ref('tokens_out')}`), eb.lit(0))
        .as('tokens'),
    ])
    .where('started_at', '>=', from)
    .where('started_at', '<', to)
    .groupBy(sessionDay)
    .execute();
  for (const row of sessions) {
    const bucket = buckets[Number(row.day)];
    if (!bucket) continue;
    // Sums of floats: round to a millionth of a dollar so 0.1 + 0.2 shows as 0.3.
    bucket.cost_usd = Math.round(Number(row.cost_usd) * 1e6) / 1e6;
    bucket.tokens = Number(row.tokens);
  }
  return buckets;
}

export interface StatsOptions {
  db: Kysely<Database>;
  clock: () => number;
}

export const statsPlugin: FastifyPluginAsyncZod<StatsOptions> = async (app, { db, clock }) => {
  app.get(
    '/stats/activity',
    {
      schema: {
        summary: 'Tasks completed and failed, and spend, per UTC day',
        description:
          'Tasks count on the day they finished; cost and tokens on the day their session started (as the daily ' +
          'budget counts them). Days without activity are present with zeros.',
        tags: ['stats'],
        querystring: ActivityQuery,
        response: { 200: ActivityResponseSchema, ...errors(400, 401) },
      },
    },
    async (request) => ({
      days: request.query.days,
      buckets: await activityByDay(db, request.query.days, clock()),
    }),
  );
};
