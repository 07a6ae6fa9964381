/**
 * @module The group-commit batcher on its own, with a recording runner in place of the database statement: what
 * goes into which batch, one batch in flight per type set, and errors reaching exactly the steps of their batch.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { WorkerStep, WorkerStepOutcome } from '../../src/queue/postgres-statements.js';
import { WorkerStepBatcher } from '../../src/queue/worker-step-batcher.js';

interface Call {
  types: readonly string[];
  workers: string[];
  finish: (outcomes?: WorkerStepOutcome[]) => void;
  fail: (error: Error) => void;
}

/** A runner whose statements end when the test says so. */
function recordingRunner() {
  const calls: Call[] = [];
  const run = (types: readonly string[], steps: readonly WorkerStep[]) =>
    new Promise<WorkerStepOutcome[]>((resolve, reject) => {
      calls.push({
        types,
        workers: steps.map((s) => s.workerId),
        finish: (outcomes) => resolve(outcomes ?? steps.map(() => ({ completed: true, next: undefined }))),
        fail: reject,
      });
    });
  return { calls, run };
}

describe('worker step batcher', () => {
  it('sends the steps asked for in one turn as one batch, at once when nothing is in flight', async () => {
    const { calls, run } = recordingRunner();
    const batcher = new WorkerStepBatcher(run);
    const steps = ['w1', 'w2', 'w3'].map((w) => batcher.step(['deploy'], { workerId: w }));
    await nextTurn();
    expect(calls.map((c) => c.workers)).toEqual([['w1', 'w2', 'w3']]);
    calls[0]!.finish();
    expect(await Promise.all(steps)).toHaveLength(3);
  });

  it('holds steps that arrive while a batch runs, and sends them together when it ends', async () => {
    const { calls, run } = recordingRunner();
    const batcher = new WorkerStepBatcher(run);
    const first = batcher.step(['deploy'], { workerId: 'w1' });
    await nextTurn();
    const later = [batcher.step(['deploy'], { workerId: 'w2' })];
    await nextTurn();
    later.push(batcher.step(['deploy'], { workerId: 'w3' }));
    await nextTurn();
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    await first;
    await nextTurn();
    expect(calls.map((c) => c.workers)).toEqual([['w1'], ['w2', 'w3']]);
    calls[1]!.finish();
    await Promise.all(later);
  });

  it('runs one batch at a time per type set, and type sets independently (order of types does not matter)', async () => {
    const { calls, run } = recordingRunner();
    const batcher = new WorkerStepBatcher(run);
    void batcher.step(['deploy', 'review_mr'], { workerId: 'w1' });
    void batcher.step(['write_spec'], { workerId: 'pm' });
    await nextTurn();
    void batcher.step(['review_mr', 'deploy'], { workerId: 'w2' });
    await nextTurn();
    expect(calls.map((c) => [c.types, c.workers])).toEqual([
      [['deploy', 'review_mr'], ['w1']],
      [['write_spec'], ['pm']],
    ]);
    calls[0]!.finish();
    await nextTurn();
    await nextTurn();
    expect(calls[2]!.workers).toEqual(['w2']);
  });

  it('passes each step its own outcome, in step order', async () => {
    const { calls, run } = recordingRunner();
    const batcher = new WorkerStepBatcher(run);
    const steps = ['w1', 'w2'].map((w) => batcher.step(['deploy'], { workerId: w }));
    await nextTurn();
    calls[0]!.finish([
      { completed: true, next: undefined },
      { completed: false, next: undefined },
    ]);
    expect((await Promise.all(steps)).map((o) => o.completed)).toEqual([true, false]);
  });

  it('rejects every step of a failed batch with its error, and the next batch still runs', async () => {
    const { calls, run } = recordingRunner();
    const batcher = new WorkerStepBatcher(run);
    const failing = ['w1', 'w2'].map((w) => batcher.step(['deploy'], { workerId: w }));
    await nextTurn();
    const after = batcher.step(['deploy'], { workerId: 'w3' });
    calls[0]!.fail(new Error('connection terminated'));
    for (const step of failing) await expect(step).rejects.toThrow('connection terminated');
    await nextTurn();
    calls[1]!.finish();
    await expect(after).resolves.toMatchObject({ completed: true });
  });

  it('refuses a runner answer that does not give one outcome per step', async () => {
    const { calls, run } = recordingRunner();
    const batcher = new WorkerStepBatcher(run);
    const steps = ['w1', 'w2'].map((w) => batcher.step(['deploy'], { workerId: w }));
    await nextTurn();
    calls[0]!.finish([{ completed: true, next: undefined }]);
    for (const step of steps) await expect(step).rejects.toThrow('2 steps sent, 1 outcomes returned');
  });

  it('splits more steps than a batch holds into several batches', async () => {
    const { calls, run } = recordingRunner();
    const batcher = new WorkerStepBatcher(run, 2);
    const steps = ['w1', 'w2', 'w3'].map((w) => batcher.step(['deploy'], { workerId: w }));
    await nextTurn();
    calls[0]!.finish();
    await nextTurn();
    await nextTurn();
    expect(calls.map((c) => c.workers)).toEqual([['w1', 'w2'], ['w3']]);
    calls[1]!.finish();
    expect(await Promise.all(steps)).toHaveLength(3);
  });
});
