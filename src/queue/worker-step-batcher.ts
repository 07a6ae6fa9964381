/**
 * @module Group commit for one process's workers (PostgreSQL): the steps workers ask for while a step statement is
 * running wait for it to end and then go together, as the next statement (`WORKER_STEPS_SQL` in
 * postgres-statements.ts). Under load one commit carries the steps of several workers instead of one each; a lone
 * step goes at once, with no timer and no added wait.
 *
 * Nothing about a step's meaning changes: each worker still waits for its own step to commit before it goes on, and
 * a task is claimed only for a worker that asked for one (no prefetching, no task leased while nobody works on it).
 * Steps are grouped by the set of types they claim, one statement in flight per set, so workers of different roles
 * never wait for each other.
 */
import type { WorkerStep, WorkerStepOutcome } from './postgres-statements.js';

/** Runs one batch: every step claims from `types`; one outcome per step, in step order. */
export type RunWorkerSteps = (types: readonly string[], steps: readonly WorkerStep[]) => Promise<WorkerStepOutcome[]>;

interface Waiting {
  step: WorkerStep;
  resolve: (outcome: WorkerStepOutcome) => void;
  reject: (error: unknown) => void;
}

interface Lane {
  types: readonly string[];
  waiting: Waiting[];
}

/** Most steps in one statement: a bound on its size, far above the worker loops one process runs. */
export const MAX_STEPS_PER_BATCH = 64;

export class WorkerStepBatcher {
  /** Lanes with a statement in flight, by type set; a lane is gone once it has nothing to run. */
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly run: RunWorkerSteps,
    private readonly maxBatch = MAX_STEPS_PER_BATCH,
  ) {}

  /** Resolves when the statement carrying `step` has committed; rejects with that statement's error. */
  step(types: readonly string[], step: WorkerStep): Promise<WorkerStepOutcome> {
    return new Promise((resolve, reject) => {
      const key = [...types].sort().join('\n');
      const lane = this.lanes.get(key);
      if (lane) {
        lane.waiting.push({ step, resolve, reject });
        return;
      }
      const fresh: Lane = { types, waiting: [{ step, resolve, reject }] };
      this.lanes.set(key, fresh);
      void this.drain(key, fresh);
    });
  }

  /**
   * Runs the lane's waiting steps, batch after batch, until none is left. Before each batch it lets the current turn
   * of the event loop finish (`setImmediate`): workers whose previous step just committed run on to their next step
   * in that turn, and join this batch instead of waiting out the next statement.
   */
  private async drain(key: string, lane: Lane): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (lane.waiting.length === 0) break;
      const batch = lane.waiting.splice(0, this.maxBatch);
      try {
        const outcomes = await this.run(
          lane.types,
          batch.map((w) => w.step),
        );
        if (outcomes.length !== batch.length) {
          throw new Error(`worker steps: ${batch.length} steps sent, ${outcomes.length} outcomes returned`);
        }
        batch.forEach((w, i) => w.resolve(outcomes[i]!));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.lanes.delete(key);
  }
}
