/**
 * @module The scheduler service's loop: sleeps until the next slot of any enabled schedule (at most `tick_seconds`),
 * then fires each schedule's latest due slot through `fireScheduleSlot` (the database decides who fires it). A slot
 * is due when it is later than the last one fired (read from `schedule_runs` at start): after downtime only the
 * latest missed slot fires, once. A schedule that never ran fires only slots from this scheduler's start on.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Cron } from 'croner';
import type { Settings } from '../config/settings-schema.js';
import type { Logger } from '../log.js';
import type { TaskQueue } from '../queue/task-queue.js';
import { fireScheduleSlot, type ScheduleDefinition, type SlotOutcome } from './fire-schedule-slot.js';
import { latestSlotAtOrBefore, nextSlotAfter, parseCron } from './schedule-slots.js';

/** The enabled schedules of the settings, as the scheduler runs them. */
export function schedulesFrom(settings: Pick<Settings, 'schedules'>): ScheduleDefinition[] {
  return Object.entries(settings.schedules)
    .filter(([, s]) => s.enabled)
    .map(([name, s]) => ({
      name,
      cron: s.cron,
      taskType: s.task_type,
      perRepository: s.per_repository,
      ...(s.repository === null ? {} : { repository: s.repository }),
      payload: s.payload,
      priority: s.priority,
      timezone: s.timezone,
    }));
}

export interface SchedulerOptions {
  queue: TaskQueue;
  schedules: readonly ScheduleDefinition[];
  tickMs: number;
  logger: Logger;
  /**
   * Checks run on every tick after the schedules, e.g. bringing back deferred project proposals whose date passed
   * (`workflow/project-decisions.ts`); each must be idempotent across schedulers.
   */
  dueChecks?: readonly { name: string; run: () => Promise<unknown> }[];
  /** Told of every attempt to fire a slot (won or lost); for logs and the two-process test. */
  onSlot?: (schedule: string, slotAt: number, outcome: SlotOutcome) => void;
}

interface Running {
  definition: ScheduleDefinition;
  cron: Cron;
  /** The latest slot known fired (by anyone); undefined: never. */
  lastSlot: number | undefined;
}

export class Scheduler {
  readonly instanceId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly running: Running[];
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private stopped = false;
  private startedAt = 0;

  constructor(private readonly options: SchedulerOptions) {
    this.running = options.schedules.map((definition) => ({
      definition,
      cron: parseCron(definition.cron, definition.timezone),
      lastSlot: undefined,
    }));
  }

  private get clock(): () => number {
    return this.options.queue.clock;
  }

  /** Reads each schedule's last fired slot and starts the loop. */
  async start(): Promise<void> {
    await this.prepare();
    this.loop = this.run();
  }

  /** Reads each schedule's last fired slot; from now on `tick()` fires what is due (`start` calls it). */
  async prepare(): Promise<void> {
    this.startedAt = this.clock();
    const db = this.options.queue.handle.db;
    for (const schedule of this.running) {
      const last = await db
        .selectFrom('schedule_runs')
        .select((eb) => eb.fn.max('slot_at').as('slot_at'))
        .where('schedule_name', '=', schedule.definition.name)
        .executeTakeFirst();
      schedule.lastSlot = last?.slot_at === null || last?.slot_at === undefined ? undefined : Number(last.slot_at);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
  }

  /** Fires every due slot once; returns when done. */
  async tick(): Promise<void> {
    const now = this.clock();
    for (const schedule of this.running) {
      const due = latestSlotAtOrBefore(schedule.cron, now);
      if (due === undefined) continue;
      const after = schedule.lastSlot ?? this.startedAt - 1;
      if (due <= after) continue;
      const outcome = await fireScheduleSlot(this.options.queue, schedule.definition, due, this.instanceId);
      schedule.lastSlot = due;
      this.options.onSlot?.(schedule.definition.name, due, outcome);
      if (outcome.fired) {
        this.options.logger.info(
          { schedule: schedule.definition.name, slot: new Date(due).toISOString(), tasks: outcome.taskIds },
          'schedule fired',
        );
      }
    }
    for (const check of this.options.dueChecks ?? []) {
      const outcome = await check.run();
      if (Array.isArray(outcome) && outcome.length > 0) {
        this.options.logger.info({ check: check.name, outcome }, 'due check acted');
      }
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.tick();
      } catch (error) {
        // A database outage must not end the loop: the slot is tried again next tick.
        this.options.logger.error({ err: error }, 'scheduler tick failed');
      }
      if (this.stopped) break;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.delayToNextSlot());
      });
    }
  }

  private delayToNextSlot(): number {
    const now = this.clock();
    let next = now + this.options.tickMs;
    for (const schedule of this.running) {
      const slot = nextSlotAfter(schedule.cron, now);
      if (slot !== undefined && slot < next) next = slot;
    }
    return Math.max(0, next - now);
  }
}
