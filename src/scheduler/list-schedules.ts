/**
 * @module What `autodev schedules list` and `GET /api/schedules` show: every configured schedule with its next slot
 * and its last fired run (from `schedule_runs`).
 */
import type { Kysely } from 'kysely';
import type { Settings } from '../config/settings-schema.js';
import type { Database } from '../store/schema.js';
import { nextSlotAfter, parseCron } from './schedule-slots.js';

export interface ScheduleView {
  name: string;
  cron: string;
  timezone: string;
  task_type: string;
  per_repository: boolean;
  enabled: boolean;
  /** ISO time of the next slot; null when disabled or the pattern has no more slots. */
  next_run_at: string | null;
  last_run: { slot_at: string; fired_at: string; fired_by: string; task_ids: number[] } | null;
}

export async function listSchedules(
  db: Kysely<Database>,
  settings: Pick<Settings, 'schedules'>,
  now: number,
): Promise<ScheduleView[]> {
  const names = Object.keys(settings.schedules).sort();
  const lastRuns = new Map<string, { slot_at: number; created_at: number; fired_by: string; task_ids: string }>();
  for (const name of names) {
    const row = await db
      .selectFrom('schedule_runs')
      .select(['slot_at', 'created_at', 'fired_by', 'task_ids'])
      .where('schedule_name', '=', name)
      .orderBy('slot_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (row) lastRuns.set(name, row);
  }
  return names.map((name) => {
    const schedule = settings.schedules[name]!;
    const next = schedule.enabled ? nextSlotAfter(parseCron(schedule.cron, schedule.timezone), now) : undefined;
    const last = lastRuns.get(name);
    return {
      name,
      cron: schedule.cron,
      timezone: schedule.timezone,
      task_type: schedule.task_type,
      per_repository: schedule.per_repository,
      enabled: schedule.enabled,
      next_run_at: next === undefined ? null : new Date(next).toISOString(),
      last_run: last
        ? {
            slot_at: new Date(last.slot_at).toISOString(),
            fired_at: new Date(last.created_at).toISOString(),
            fired_by: last.fired_by,
            task_ids: JSON.parse(last.task_ids) as number[],
          }
        : null,
    };
  });
}
