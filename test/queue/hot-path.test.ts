/**
 * @module The queue's throughput path on both engines: a completion that claims the worker's next task in the same
 * commit, prepared statements on PostgreSQL, waking one idle worker of a task's type instead of every loop, and the
 * reclaim interval from the settings.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CompiledQuery } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runWorker } from '../../src/queue/run-worker.js';
import { runWorkerStepsOnPostgres } from '../../src/queue/postgres-statements.js';
import { completeTask } from '../../src/queue/settle-task.js';
import { TaskQueue, type QueueSettings } from '../../src/queue/task-queue.js';
import { Waiters, workFromPayload, workPayload } from '../../src/queue/task-wakeup.js';
import { preparedStatementName } from '../../src/store/prepared-statements.js';
import { expectCode } from '../support/expect-error.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

/** Resolves once `done()` holds; fails after 10 s. */
async function until(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(done)}`);
    await sleep(10);
  }
}

const SETTINGS: QueueSettings = {
  leaseMs: 10_000,
  heartbeatMs: 1_000,
  maxAttempts: 3,
  backoff: { baseMs: 60_000, maxMs: 120_000 },
};

describe('waking one waiter per new task', () => {
  it('wakes the longest-waiting waiter of the type and every untyped waiter, no one else', async () => {
    const waiters = new Waiters();
    const woke: string[] = [];
    const wait = (name: string, types?: string[]) =>
      void waiters.wait(60_000, undefined, types).then(() => woke.push(name));
    wait('deploy-1', ['deploy']);
    wait('deploy-2', ['deploy', 'review_mr']);
    wait('spec', ['write_spec']);
    wait('stream');
    waiters.wake({ type: 'deploy', taskId: 7 });
    await sleep(0);
    expect(woke.sort()).toEqual(['deploy-1', 'stream']);
    waiters.wake({ type: 'review_mr', taskId: 8 });
    await sleep(0);
    expect(woke).toContain('deploy-2');
    expect(waiters.size).toBe(1);
    waiters.wake(undefined);
    await sleep(0);
    expect(woke).toContain('spec');
    expect(waiters.size).toBe(0);
  });

  it('carries the task in the notification payload', () => {
    expect(workFromPayload(workPayload({ type: 'write_spec', taskId: 42 }))).toEqual({
      type: 'write_spec',
      taskId: 42,
    });
    expect(workPayload(undefined)).toBe('');
    expect(workFromPayload('')).toBeUndefined();
    expect(workFromPayload('garbage')).toBeUndefined();
  });

  it('names prepared statements only when marked, the same text always by the same name', () => {
    const text = '/* autodev:prepare claim_task */ select 1';
    expect(preparedStatementName(text)).toMatch(/^autodev_claim_task_[0-9a-f]{10}$/);
    expect(preparedStatementName(text)).toBe(preparedStatementName(text));
    expect(preparedStatementName(`${text} `)).not.toBe(preparedStatementName(text));
    expect(preparedStatementName('select 1')).toBeNull();
  });
});

describe.each(DIALECTS)('%s: queue hot path', (dialect) => {
  const t = useTestDatabase(dialect);
  let now: number;
  let queue: TaskQueue;

  beforeEach(() => {
    now = 1_700_000_000_000;
    queue = new TaskQueue(t.handle, SETTINGS, () => now);
  });
  afterEach(async () => {
    await queue.close();
  });

  const enqueue = (type: string, priority = 5) => queue.enqueue({ type, priority, payload: {}, createdBy: 'test' });
  const eventKinds = async () =>
    (await t.handle.db.selectFrom('events').select(['kind', 'subject_id', 'actor']).orderBy('id').execute()).map(
      (e) => `${e.kind} ${e.subject_id} ${e.actor}`,
    );

  it('completes the held task and claims the next ready one of the types, with both events', async () => {
    const first = await enqueue('deploy');
    const low = await enqueue('deploy', 2);
    const high = await enqueue('deploy', 9);
    await enqueue('write_spec', 10);
    const held = (await queue.claim('w1', ['deploy']))!;
    expect(held.id).toBe(high.id);
    now += 5;

    const next = await queue.completeAndClaim({ taskId: held.id, workerId: 'w1' }, { ok: true }, ['deploy']);
    expect(next).toMatchObject({
      id: first.id,
      status: 'in_progress',
      leaseOwner: 'w1',
      leaseExpiresAt: now + SETTINGS.leaseMs,
      attempts: 1,
      startedAt: now,
    });
    expect(await queue.get(held.id)).toMatchObject({ status: 'completed', result: { ok: true }, leaseOwner: null });
    expect((await queue.get(low.id)).status).toBe('pending');
    const kinds = await eventKinds();
    // One statement on PostgreSQL: its two event rows come in either order.
    expect(kinds.at(-3)).toBe(`task.claimed ${held.id} w1`);
    expect(kinds.slice(-2).sort()).toEqual([`task.claimed ${first.id} w1`, `task.completed ${held.id} w1`]);

    // Nothing else of the types is ready: it completes and claims nothing.
    const last = await queue.completeAndClaim({ taskId: next!.id, workerId: 'w1' }, null, ['review_mr']);
    expect(last).toBeUndefined();
    expect((await queue.get(next!.id)).status).toBe('completed');
  });

  it('claims nothing when the lease is lost: LEASE_LOST, no change, no event', async () => {
    const held = await enqueue('deploy');
    const waiting = await enqueue('deploy');
    await queue.claim('w1', ['deploy']);
    const before = await eventKinds();
    await expectCode(queue.completeAndClaim({ taskId: held.id, workerId: 'intruder' }, null, ['deploy']), 'LEASE_LOST');
    await queue.cancel(held.id, 'test');
    const afterCancel = await eventKinds();
    await expectCode(queue.completeAndClaim({ taskId: held.id, workerId: 'w1' }, null, ['deploy']), 'LEASE_LOST');
    expect(await eventKinds()).toEqual(afterCancel);
    expect(afterCancel.length).toBe(before.length + 1);
    expect(await queue.get(waiting.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await queue.get(held.id)).status).toBe('cancelled');
  });

  it('steps of several workers at once: a lost lease fails only its own step, nothing claimed for it', async () => {
    for (let i = 0; i < 6; i++) await enqueue('deploy');
    const [a, b, c] = [
      await queue.claim('a', ['deploy']),
      await queue.claim('b', ['deploy']),
      await queue.claim('c', ['deploy']),
    ];
    await queue.cancel(b!.id, 'test');
    const steps = await Promise.allSettled([
      queue.completeAndClaim({ taskId: a!.id, workerId: 'a' }, 'A', ['deploy']),
      queue.completeAndClaim({ taskId: b!.id, workerId: 'b' }, 'B', ['deploy']),
      queue.completeAndClaim({ taskId: c!.id, workerId: 'c' }, 'C', ['deploy']),
      queue.claim('d', ['deploy']),
      // The same task completed twice at once: one of the two wins, the other finds its lease gone.
      queue.completeAndClaim({ taskId: c!.id, workerId: 'c' }, 'C again', ['deploy']),
    ]);
    const [forA, forB, forC, forD, forCAgain] = steps;
    expect(forA).toMatchObject({ status: 'fulfilled', value: { leaseOwner: 'a', status: 'in_progress' } });
    expect(forB.status).toBe('rejected');
    expect(forB.status === 'rejected' && (forB.reason as { code?: string }).code).toBe('LEASE_LOST');
    expect(forC).toMatchObject({ status: 'fulfilled', value: { leaseOwner: 'c' } });
    expect(forD).toMatchObject({ status: 'fulfilled', value: { leaseOwner: 'd' } });
    expect(forCAgain.status === 'rejected' && (forCAgain.reason as { code?: string }).code).toBe('LEASE_LOST');
    expect(await queue.get(a!.id)).toMatchObject({ status: 'completed', result: 'A' });
    expect(await queue.get(b!.id)).toMatchObject({ status: 'cancelled', result: null });
    expect(await queue.get(c!.id)).toMatchObject({ status: 'completed', result: 'C' });
    // Six tasks: b cancelled, a and c done, three claimed for a, c and d; none left over, none taken twice.
    expect(await queue.countByStatus()).toMatchObject({ completed: 2, cancelled: 1, in_progress: 3, pending: 0 });
  });

  it('two workers completing and claiming at once never take the same task', async () => {
    for (let i = 0; i < 40; i++) await enqueue('deploy');
    const seen: number[] = [];
    const drain = async (workerId: string) => {
      let task = await queue.claim(workerId, ['deploy']);
      while (task) {
        seen.push(task.id);
        task = await queue.completeAndClaim({ taskId: task.id, workerId }, null, ['deploy']);
      }
    };
    await Promise.all([drain('a'), drain('b'), drain('c')]);
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
    expect(await queue.countByStatus()).toMatchObject({ completed: 40, pending: 0, in_progress: 0 });
  });

  it('a new task wakes one idle worker of its type, not the others', async () => {
    const woke: string[] = [];
    const stop = new AbortController();
    const wait = (name: string, types: string[]) =>
      queue.waitForWork(20_000, stop.signal, types).then(() => woke.push(name));
    // PostgreSQL: LISTEN starts with the first wait, which returns at once so its caller looks for work it might
    // have missed meanwhile; later waits sleep until woken.
    await queue.waitForWork(1);
    const waits = [wait('deploy-1', ['deploy']), wait('deploy-2', ['deploy']), wait('spec', ['write_spec'])];
    await sleep(300);
    await enqueue('deploy');
    await until(() => woke.length > 0);
    // Wake-ups are handed out in commit order: a later task's wake-up comes after every wake-up of the deploy task,
    // so once it has come, a second deploy waiter woken by the first task would show.
    await enqueue('write_spec');
    await until(() => woke.includes('spec'));
    expect(woke).toEqual(['deploy-1', 'spec']);
    // Several tasks in one transaction: one wake each (distinct payloads are not folded).
    waits.push(wait('spec-2', ['write_spec']));
    await t.handle.db.transaction().execute(async (tx) => {
      await queue.enqueue({ type: 'deploy', payload: {}, createdBy: 'test' }, tx);
      await queue.enqueue({ type: 'write_spec', payload: {}, createdBy: 'test' }, tx);
    });
    await until(() => woke.length === 4);
    expect(woke.slice(2).sort()).toEqual(['deploy-2', 'spec-2']);
    stop.abort();
    await Promise.all(waits);
  });
});

describe.runIf(DIALECTS.includes('postgres'))('postgres: LISTEN', () => {
  const t = useTestDatabase('postgres');

  it('a first wait that has just started listening returns at once: nothing notified before LISTEN is lost', async () => {
    const fresh = new TaskQueue(t.handle, SETTINGS, () => Date.now());
    try {
      // The notification of this task went out before this process listened.
      await fresh.enqueue({ type: 'deploy', payload: {}, createdBy: 'test' });
      const stop = new AbortController();
      let woke = false;
      const waiting = fresh.waitForWork(60_000, stop.signal, ['deploy']).then(() => (woke = true));
      for (let i = 0; i < 250 && !woke; i++) await sleep(20);
      const wokeByItself = woke;
      stop.abort();
      await waiting;
      expect(wokeByItself).toBe(true);
    } finally {
      await fresh.close();
    }
  });
});

describe.runIf(DIALECTS.includes('postgres'))('postgres: prepared statements', () => {
  const t = useTestDatabase('postgres');
  const now = 1_700_000_000_000;

  it('runs the worker steps and the completion as prepared statements', async () => {
    const queue = new TaskQueue(t.handle, SETTINGS, () => now);
    try {
      await queue.enqueue({ type: 'deploy', payload: {}, createdBy: 'test' });
      await queue.enqueue({ type: 'deploy', payload: {}, createdBy: 'test' });
      const names = await t.handle.db.transaction().execute(async (tx) => {
        // The queue uses the pool; inside this transaction's connection, run them directly to see its statements.
        const batch = { types: ['deploy'], now, leaseMs: 1 };
        const [claim] = await runWorkerStepsOnPostgres(tx, [{ workerId: 'w1' }], batch);
        const held = claim!.next!;
        await completeTask(tx, t.handle.dialect, { taskId: held.id, workerId: 'w1' }, { result: null, now });
        const { rows } = await tx.executeQuery<{ name: string }>(
          CompiledQuery.raw('select name from pg_prepared_statements order by name'),
        );
        return rows.map((r) => r.name);
      });
      expect(names.some((n) => n.startsWith('autodev_worker_steps_'))).toBe(true);
      expect(names.some((n) => n.startsWith('autodev_complete_task_'))).toBe(true);
    } finally {
      await queue.close();
    }
  });

  it('steps asked for at once commit together: one statement, one transaction (same xmin on every row)', async () => {
    const queue = new TaskQueue(t.handle, SETTINGS, () => now);
    try {
      for (let i = 0; i < 8; i++) await queue.enqueue({ type: 'deploy', payload: {}, createdBy: 'test' });
      const workers = ['w1', 'w2', 'w3', 'w4'];
      const held = await Promise.all(workers.map((w) => queue.claim(w, ['deploy'])));
      const xmins = async (ids: number[]) =>
        (
          await t.handle.db.executeQuery<{ xmin: string }>(
            CompiledQuery.raw('select xmin::text as xmin from tasks where id = any($1::bigint[])', [ids]),
          )
        ).rows.map((r) => r.xmin);
      const claimedIds = held.map((task) => task!.id);
      expect(new Set(claimedIds).size).toBe(4);
      expect(new Set(await xmins(claimedIds)).size).toBe(1);

      const next = await Promise.all(
        held.map((task, i) => queue.completeAndClaim({ taskId: task!.id, workerId: workers[i]! }, i, ['deploy'])),
      );
      const nextIds = next.map((task) => task!.id);
      // The four completions and the four claims: eight rows written by one transaction.
      expect(new Set(await xmins([...claimedIds, ...nextIds])).size).toBe(1);
      expect(next.map((task) => task!.leaseOwner)).toEqual(workers);
      for (const [i, task] of held.entries()) {
        expect(await queue.get(task!.id)).toMatchObject({ status: 'completed', result: i });
      }
    } finally {
      await queue.close();
    }
  });
});

describe.each(DIALECTS)('%s: worker loop on the hot path', (dialect) => {
  const t = useTestDatabase(dialect);

  it('gives back the task its last completion claimed when it stops right then (attempt not counted)', async () => {
    const queue = new TaskQueue(t.handle, SETTINGS);
    try {
      const first = await queue.enqueue({ type: 'deploy', payload: {}, createdBy: 'test', priority: 9 });
      const second = await queue.enqueue({ type: 'deploy', payload: {}, createdBy: 'test' });
      const stop = new AbortController();
      const ran: number[] = [];
      let asked = 0;
      await runWorker({
        queue,
        workerId: 'w1',
        types: ['deploy'],
        signal: stop.signal,
        handler: async (task) => {
          ran.push(task.id);
          return { result: 'done' };
        },
        // Asked before each claim; the second time is the completion of `first`: stop right there.
        pauseClaims: async () => {
          if (++asked === 2) stop.abort();
          return undefined;
        },
      });
      expect(ran).toEqual([first.id]);
      expect((await queue.get(first.id)).status).toBe('completed');
      expect(await queue.get(second.id)).toMatchObject({ status: 'pending', attempts: 0, leaseOwner: null });
      const kinds = (
        await t.handle.db.selectFrom('events').select('kind').where('subject_id', '=', String(second.id)).execute()
      ).map((e) => e.kind);
      expect(kinds).toEqual(['task.created', 'task.claimed', 'task.released']);
    } finally {
      await queue.close();
    }
  });

  it('reclaims expired leases as often as the settings say', async () => {
    const queue = new TaskQueue(t.handle, { ...SETTINGS, leaseMs: 200, reclaimMs: 100 });
    const stop = new AbortController();
    const loop = runWorker({
      queue,
      workerId: 'w1',
      types: ['write_spec'],
      signal: stop.signal,
      idleWaitMs: 50,
      handler: async () => ({ result: null }),
    });
    try {
      await sleep(100);
      // A worker that dies holding the task: its lease ends 200 ms from now.
      const task = await queue.enqueue({ type: 'deploy', payload: {}, createdBy: 'test' });
      await queue.claim('dead-worker', ['deploy']);
      const started = Date.now();
      while ((await queue.get(task.id)).status === 'in_progress' && Date.now() - started < 4_000) await sleep(20);
      // Every 100 ms it is back within a few hundred ms of expiring; the default (every 5 s) would still hold it
      // at 4 s: a bound that tells the two apart with room for a loaded machine.
      expect(await queue.get(task.id)).toMatchObject({ status: 'pending', error: expect.stringContaining('lease') });
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      stop.abort();
      await loop;
      await queue.close();
    }
  });
});
