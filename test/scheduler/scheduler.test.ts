import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { createLogger } from '../../src/log.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { fireScheduleSlot, type ScheduleDefinition } from '../../src/scheduler/fire-schedule-slot.js';
import { listSchedules } from '../../src/scheduler/list-schedules.js';
import { latestSlotAtOrBefore, parseCron } from '../../src/scheduler/schedule-slots.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

const T0 = Date.parse('2026-03-02T10:00:00.000Z'); // a Monday
const HOUR = 3_600_000;

const hourly: ScheduleDefinition = {
  name: 'static-analysis',
  cron: '0 * * * *',
  taskType: 'static_analysis',
  perRepository: true,
  priority: 3,
  timezone: 'UTC',
};

describe('schedule slots', () => {
  it('finds the latest slot at or before a time, the slot itself included', () => {
    const cron = parseCron('0 * * * *');
    expect(latestSlotAtOrBefore(cron, T0)).toBe(T0);
    expect(latestSlotAtOrBefore(cron, T0 + 1)).toBe(T0);
    expect(latestSlotAtOrBefore(cron, T0 - 1)).toBe(T0 - HOUR);
    const seconds = parseCron('* * * * * *');
    expect(latestSlotAtOrBefore(seconds, T0 + 1500)).toBe(T0 + 1000);
  });

  it('refuses a bad cron pattern in settings, naming the key', () => {
    const parsed = SettingsSchema.safeParse({
      schedules: { nightly: { cron: '61 * * * *', task_type: 'static_analysis' } },
    });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(/cron/);
  });
});

describe.each(DIALECTS)('%s: scheduler', (dialect) => {
  const t = useTestDatabase(dialect);
  let now: number;
  let queue: TaskQueue;
  const logger = createLogger({ level: 'silent' });

  beforeEach(async () => {
    now = T0;
    queue = new TaskQueue(t.handle, undefined, () => now);
    for (const name of ['api', 'web']) {
      await t.handle.db
        .insertInto('repositories')
        .values({
          name,
          forge: 'local',
          location: `/tmp/${name}`,
          default_branch: 'main',
          test_command: null,
          deploy_command: null,
          lint_command: null,
          settings: '{}',
          created_at: now,
          updated_at: now,
        })
        .execute();
    }
  });
  afterEach(async () => {
    await queue.close();
  });

  const tasks = () => t.handle.db.selectFrom('tasks').selectAll().orderBy('id').execute();

  it('fires a slot once however often it is tried: one task per repository, in one transaction with its run', async () => {
    const first = await fireScheduleSlot(queue, hourly, T0, 'a');
    const second = await fireScheduleSlot(queue, hourly, T0, 'b');
    expect(first).toMatchObject({ fired: true });
    expect(second).toEqual({ fired: false });
    const rows = await tasks();
    expect(rows.map((r) => [r.type, r.repo_id !== null, r.created_by])).toEqual([
      ['static_analysis', true, 'scheduler:static-analysis'],
      ['static_analysis', true, 'scheduler:static-analysis'],
    ]);
    const runs = await t.handle.db.selectFrom('schedule_runs').selectAll().execute();
    expect(runs).toHaveLength(1);
    expect(JSON.parse(runs[0]!.task_ids)).toEqual(rows.map((r) => r.id));
    expect(runs[0]!.fired_by).toBe('a');
  });

  it('fires the slots that come while it runs, and after downtime only the latest missed slot, once', async () => {
    now = T0 + 10 * 60_000; // 10:10, after the 10:00 slot: a schedule that never ran does not fire the past
    const first = new Scheduler({ queue, schedules: [hourly], tickMs: 1000, logger });
    await first.prepare();
    await first.tick();
    expect(await tasks()).toHaveLength(0);
    now = T0 + HOUR; // 11:00
    await first.tick();
    await first.tick();
    expect((await tasks()).map((r) => r.payload)).toEqual([
      JSON.stringify({ schedule: 'static-analysis', slot_at: '2026-03-02T11:00:00.000Z' }),
      JSON.stringify({ schedule: 'static-analysis', slot_at: '2026-03-02T11:00:00.000Z' }),
    ]);
    // Down from 11:30 until 15:20: the 12:00 ... 15:00 slots were missed; a new scheduler fires 15:00 alone.
    now = T0 + 5 * HOUR + 20 * 60_000;
    const restarted = new Scheduler({ queue, schedules: [hourly], tickMs: 1000, logger });
    await restarted.prepare();
    await restarted.tick();
    await restarted.tick();
    const runs = await t.handle.db.selectFrom('schedule_runs').select('slot_at').orderBy('slot_at').execute();
    expect(runs.map((r) => new Date(Number(r.slot_at)).toISOString())).toEqual([
      '2026-03-02T11:00:00.000Z',
      '2026-03-02T15:00:00.000Z',
    ]);
    expect(await tasks()).toHaveLength(4);
  });

  it('lists the schedules with the next slot and the last run', async () => {
    const settings = SettingsSchema.parse({
      schedules: {
        'static-analysis': { cron: '0 * * * *', task_type: 'static_analysis' },
        'prioritize-backlog': { cron: '0 6 * * 1', task_type: 'prioritize_backlog', enabled: false },
      },
    });
    await fireScheduleSlot(queue, hourly, T0, 'a');
    const views = await listSchedules(t.handle.db, settings, T0 + 1);
    expect(views).toMatchObject([
      { name: 'prioritize-backlog', enabled: false, next_run_at: null, last_run: null },
      {
        name: 'static-analysis',
        enabled: true,
        next_run_at: '2026-03-02T11:00:00.000Z',
        last_run: { slot_at: '2026-03-02T10:00:00.000Z', fired_by: 'a' },
      },
    ]);
    expect(views[1]!.last_run!.task_ids).toHaveLength(2);
  });
});
