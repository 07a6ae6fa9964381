/**
 * @module The scheduler service's retention: at each slot of `retention.cron` (UTC) it prunes old rows
 * (`store/prune.ts`) once however many schedulers run: the unique `schedule_runs ('retention', slot)` row decides, as
 * for schedules. The winner deletes in batches, logs the counts and records a `retention.pruned` event. Slots missed
 * while no scheduler ran are not caught up (the next one prunes the same rows).
 */
import type { Settings } from '../config/settings-schema.js';
import { recordEvent } from '../events/record-event.js';
import type { Logger } from '../log.js';
import type { DatabaseHandle } from '../store/open-database.js';
import { sleepUnlessAborted } from '../sleep.js';
import { pruneOldRows, type PruneCounts } from '../store/prune.js';
import { nextSlotAfter, parseCron } from './schedule-slots.js';

export const RETENTION_SCHEDULE = 'retention';
/** Longest single wait (timers hold at most ~24.8 days; a wall-clock jump is noticed within this). */
const MAX_WAIT_MS = 60 * 60 * 1000;

export interface RetentionRunnerOptions {
  handle: DatabaseHandle;
  settings: Settings['retention'];
  /** The scheduler instance, recorded as `fired_by`. */
  firedBy: string;
  logger: Logger;
  clock?: () => number;
}

export type RetentionSlotOutcome = { ran: true; counts: PruneCounts } | { ran: false };

export class RetentionRunner {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: RetentionRunnerOptions) {
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  /** Prunes for slot `slotAt` if no scheduler has yet; the slot's row and the deletes' event say who did. */
  async runSlot(slotAt: number): Promise<RetentionSlotOutcome> {
    const db = this.options.handle.db;
    const won = await db
      .insertInto('schedule_runs')
      .values({
        schedule_name: RETENTION_SCHEDULE,
        slot_at: slotAt,
        fired_by: this.options.firedBy,
        task_ids: '[]',
        created_at: this.clock(),
      })
      .onConflict((conflict) => conflict.columns(['schedule_name', 'slot_at']).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!won) return { ran: false };
    const started = this.clock();
    const counts = await pruneOldRows(db, this.options.settings, { now: started });
    await recordEvent(db, {
      kind: 'retention.pruned',
      subjectType: 'schedule',
      subjectId: RETENTION_SCHEDULE,
      actor: `scheduler:${RETENTION_SCHEDULE}`,
      data: { slot_at: slotAt, fired_by: this.options.firedBy, ...counts },
      now: this.clock(),
    });
    this.options.logger.info(
      { ...counts, slot: new Date(slotAt).toISOString(), ms: this.clock() - started },
      'retention: deleted old rows',
    );
    return { ran: true, counts };
  }

  private async run(): Promise<void> {
    const cron = parseCron(this.options.settings.cron);
    const signal = this.abort.signal;
    let after = this.clock();
    while (!signal.aborted) {
      const slot = nextSlotAfter(cron, after);
      if (slot === undefined) return;
      const wait = slot - this.clock();
      if (wait > 0) {
        await sleepUnlessAborted(Math.min(wait, MAX_WAIT_MS), signal);
        continue;
      }
      after = slot;
      try {
        await this.runSlot(slot);
      } catch (error) {
        // An outage must not end the loop: the next slot tries again.
        this.options.logger.error({ err: error }, 'retention: pruning failed');
      }
    }
  }
}
