/**
 * @module The chaos test: worker processes (real separate processes, the queue's real claim, lease, heartbeat and
 * reclaim, short leases) on one PostgreSQL of this file's own drain 1,000 tasks while the test SIGKILLs a random
 * worker every few hundred ms (and starts a replacement, as a deployment would), freezes a few with SIGSTOP for longer
 * than a lease, and restarts PostgreSQL once (`pg_ctl restart -m immediate`: no clean shutdown). The workers are not
 * restarted for the database restart: they must reconnect by themselves and keep going (the pool drops dead
 * connections, the LISTEN connection reconnects, the worker loop retries), and the test fails if one exits.
 *
 * Every handler run appends its start, end and outcome to its worker's log file (chaos-runs-log.ts), which can be
 * written while the database is down. Then: every task is completed exactly once (one `task.completed` event), every
 * run other than the completing one is explained (its worker was killed, frozen past its lease, or its completion
 * was lost to the restart), and no two runs of a task overlap in time unless the earlier one's worker was frozen
 * (the freeze log) when the later one started and the lease expired (`task.lease_expired`).
 *
 * The size fits CI (well under a minute); for a soak: `AUTODEV_CHAOS_TASKS=20000 npx vitest run
 * test/queue-processes/chaos.test.ts`. Needs the build (`npm run build`).
 * Stories through scripted sessions under the same faults: chaos-stories.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTasksByStatus } from '../../src/queue/read-tasks.js';
import { countTasksByStatusAndType } from '../../src/queue/task-counts.js';
import { TaskQueue } from '../../src/queue/task-queue.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/open-database.js';
import { readChaosRunsLog, type ChaosRunLine } from '../support/chaos-runs-log.js';
import { DIALECTS } from '../support/dialects.js';
import { startPostgresCluster, withDatabase, type PostgresCluster } from '../support/postgres-cluster.js';
import { killWorker, startWorkerProcess, stopWorkers, type WorkerProcess } from '../support/worker-processes.js';

/** Tasks to drain; `AUTODEV_CHAOS_TASKS` for a longer manual soak. */
const TASKS = Number(process.env.AUTODEV_CHAOS_TASKS ?? 1_000);
const WORKERS = 5;
/** The kill rate: one SIGKILL (and one replacement) per interval, until the queue is drained. */
const KILL_EVERY_MS = 400;
/** SIGSTOP a worker when this share of the tasks is done, for FREEZE_MS (past its lease), then SIGCONT. */
const FREEZE_AT = [0.15, 0.7];
const FREEZE_MS = 3_500;
/** Restart PostgreSQL when this share of the tasks is done. */
const RESTART_AT = 0.4;
const LEASE_MS = 2_000;
const HEARTBEAT_MS = 300;
const RECLAIM_MS = 500;
/**
 * Each lost run counts an attempt (reclaim-expired-leases.ts). The default 3 dead-letters a task whose workers were
 * killed three times, which a long soak (thousands of kills) does hit: allow as many as the workers do.
 */
const MAX_ATTEMPTS = 25;
const DRAIN_TIMEOUT_MS = 60_000 + TASKS * 30;
/** After the restart a completion may still fail on a connection broken by it, until the pool has replaced them. */
const OUTAGE_SLACK_MS = LEASE_MS;

interface Run {
  workerId: string;
  taskId: number;
  attempt: number;
  start: number;
  end?: number;
  settled?: { outcome: string; at: number };
  /** When the worker logged a loop error after this run, with no settled outcome in between. */
  errorAt?: number;
}

interface Restart {
  begin: number;
  /** When the server accepted connections again. */
  end?: number;
  done: Promise<void>;
}

interface Freeze {
  worker: WorkerProcess;
  stoppedAt: number;
  continuedAt?: number;
}

type Cause = 'killed' | 'frozen' | 'restart';

describe.each(DIALECTS.filter((d) => d === 'postgres'))('%s: chaos, worker processes and the database', () => {
  let cluster: PostgresCluster | undefined;
  let handle: DatabaseHandle | undefined;
  let databaseUrl = '';
  const workers: WorkerProcess[] = [];
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-chaos-'));

  beforeAll(async () => {
    // A cluster of this file's own: restarting the suite's shared one would break every other file running. Commits
    // are synchronous (the suite's clusters turn that off for speed): otherwise the immediate restart loses commits
    // the workers were told had happened, and a completed task runs again. fsync stays off: the server process
    // crashes here, not the machine, and the WAL it wrote is in the kernel's page cache.
    cluster = await startPostgresCluster({ settings: { synchronous_commit: 'on' } });
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query('create database chaos');
    await admin.end();
    databaseUrl = withDatabase(cluster.adminUrl, 'chaos');
    handle = await openDatabase({ databaseUrl, poolSize: 2 });
    await migrateToLatest(handle);
  });

  afterAll(async () => {
    for (const w of workers) if (w.exitedAt === undefined) w.child.kill('SIGCONT');
    await stopWorkers(workers, 2_000);
    await handle?.close();
    cluster?.stop();
    fs.rmSync(logDir, { recursive: true, force: true });
  });

  it(
    `drains ${TASKS} tasks through SIGKILLs, freezes and a PostgreSQL restart: none lost, none run twice at once`,
    async () => {
      const db = handle!;
      const queue = new TaskQueue(db);
      await db.db.transaction().execute(async (tx) => {
        for (let i = 0; i < TASKS; i++)
          await queue.enqueue({ type: 'deploy', payload: { i }, createdBy: 'test', maxAttempts: MAX_ATTEMPTS }, tx);
      });
      await queue.close();

      let started = 0;
      const startWorker = () => {
        const workerId = `w${++started}`;
        const worker = startWorkerProcess({
          database: databaseUrl,
          workerId,
          leaseMs: LEASE_MS,
          heartbeatMs: HEARTBEAT_MS,
          reclaimMs: RECLAIM_MS,
          types: ['deploy'],
          mode: 'chaos',
          runsLog: path.join(logDir, `${workerId}.jsonl`),
        });
        workers.push(worker);
        return worker;
      };
      const begin = Date.now();
      for (let i = 0; i < WORKERS; i++) startWorker();
      await Promise.all(workers.map((w) => w.ready));
      // w1 is never killed nor frozen: a worker that certainly lives through the restart, to prove reconnection.
      const steady = workers[0]!;

      const freezes: Freeze[] = [];
      const thaws: Promise<void>[] = [];
      let restart: Restart | undefined;
      const exitedBySelf: WorkerProcess[] = [];
      let kills = 0;
      let completed = 0;
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      while (completed < TASKS) {
        if (Date.now() > deadline) throw new Error(await notCompletedReport(db, workers));
        await sleep(KILL_EVERY_MS);
        // While the database restarts this read fails: keep the last count, the chaos goes on.
        completed = await countTasksByStatus(db.db).then(
          (counts) => counts.completed,
          () => completed,
        );
        if (completed >= TASKS) break;
        if (!restart && completed >= TASKS * RESTART_AT) {
          const r: Restart = { begin: Date.now(), done: Promise.resolve() };
          r.done = cluster!.restart('immediate').then(() => void (r.end = Date.now()));
          restart = r;
        }
        // The supervisor, as a deployment's restart policy would: a worker that exited by itself is replaced. Only a
        // worker started while the database was down may do that (checked below); running workers reconnect.
        for (const worker of workers.filter((w) => w.exitedAt !== undefined && w.killedAt === undefined)) {
          if (exitedBySelf.includes(worker)) continue;
          exitedBySelf.push(worker);
          startWorker();
        }
        const candidates = workers.filter(
          (w) => w !== steady && w.isReady && w.exitedAt === undefined && !freezes.some((f) => f.worker === w),
        );
        const pick = () => candidates.splice(Math.floor(Math.random() * candidates.length), 1)[0];
        if (freezes.length < FREEZE_AT.length && completed >= TASKS * FREEZE_AT[freezes.length]!) {
          const worker = pick();
          if (worker) {
            const freeze: Freeze = { worker, stoppedAt: Date.now() };
            worker.child.kill('SIGSTOP');
            freezes.push(freeze);
            thaws.push(
              sleep(FREEZE_MS).then(() => {
                freeze.continuedAt = Date.now();
                worker.child.kill('SIGCONT');
              }),
            );
          }
        }
        const victim = pick();
        if (!victim) continue;
        await killWorker(victim);
        kills++;
        startWorker();
      }
      const drainedMs = Date.now() - begin;
      await restart?.done;
      await Promise.all(thaws);
      expect(restart?.end, 'the database was restarted during the run').toBeDefined();
      const outage = { from: restart!.begin, to: restart!.end! + OUTAGE_SLACK_MS };

      // The running workers lived through the restart: none exited but those the test killed, and those the supervisor
      // started while the database was down, which could not connect (DATABASE_UNAVAILABLE) and were started again.
      const unexplainedExits = workers.filter(
        (w) =>
          w.exitedAt !== undefined &&
          w.killedAt === undefined &&
          !(
            !w.isReady &&
            /cannot connect to PostgreSQL/.test(w.stderr) &&
            w.exitedAt >= outage.from &&
            w.exitedAt <= outage.to
          ),
      );
      expect(unexplainedExits.map((w) => `${w.workerId} exited ${w.exitCode ?? w.exitSignal}: ${w.stderr}`)).toEqual(
        [],
      );
      await stopWorkers(workers, 5_000);

      // Evidence: the tasks, their events, every run from the workers' logs.
      const tasks = await db.db.selectFrom('tasks').selectAll().orderBy('id').execute();
      const events = await db.db
        .selectFrom('events')
        .select(['kind', 'subject_id', 'actor', 'data', 'created_at'])
        .where('subject_type', '=', 'task')
        .where('kind', 'in', ['task.completed', 'task.lease_expired', 'task.claimed'])
        .execute();
      const eventsOf = (kind: string, taskId: number) =>
        events.filter((e) => e.kind === kind && e.subject_id === String(taskId));
      const logs = new Map(
        workers.map((w) => [w.workerId, readChaosRunsLog(path.join(logDir, `${w.workerId}.jsonl`))]),
      );
      const runsByTask = collectRuns(logs);
      const workerById = new Map(workers.map((w) => [w.workerId, w]));

      expect(tasks).toHaveLength(TASKS);
      expect(tasks.filter((task) => task.status !== 'completed')).toEqual([]);
      // The task counters (migration 0022) came through the kills, freezes and the restart exact: what the drain loop
      // read above is what count(*) says.
      expect(await countTasksByStatusAndType(db.db)).toEqual([{ status: 'completed', type: 'deploy', count: TASKS }]);
      const problems: string[] = [];
      const duplicates: Record<Cause, number> = { killed: 0, frozen: 0, restart: 0 };
      /** The duplicates not from a kill, for the summary: how the freezes and the restart lost a run. */
      const explained: string[] = [];
      let overlaps = 0;
      let runCount = 0;
      for (const task of tasks) {
        const say = (what: string) => problems.push(`task ${task.id}: ${what}`);
        const runs = (runsByTask.get(task.id) ?? []).sort((a, b) => a.start - b.start);
        runCount += runs.length;
        if (eventsOf('task.completed', task.id).length !== 1) {
          say(`${eventsOf('task.completed', task.id).length} task.completed events`);
        }
        // The completing run: the one the result names, the last attempt, its handler finished.
        const result = JSON.parse(task.result ?? 'null') as { workerId: string; attempt: number } | null;
        const winner = runs.find((r) => r.workerId === result?.workerId && r.attempt === result.attempt);
        if (!winner || winner.end === undefined || winner.attempt !== task.attempts) {
          say(`result ${task.result} (attempts ${task.attempts}) names no finished run in ${JSON.stringify(runs)}`);
          continue;
        }
        // Every other run is a duplicate (at least once), and each has a cause in the kill, freeze or restart log.
        for (const run of runs) {
          if (run === winner) continue;
          // A freeze between the attempt's claim and its run's start explains it too (the run starts after SIGCONT).
          const claimedAt = eventsOf('task.claimed', task.id).find(
            (e) => e.actor === run.workerId && (JSON.parse(e.data) as { attempt?: number }).attempt === run.attempt,
          )?.created_at;
          const cause = causeOf(run, workerById.get(run.workerId)!, freezes, outage, claimedAt);
          if (cause) {
            duplicates[cause]++;
            if (cause !== 'killed') explained.push(`${cause}: ${JSON.stringify(run)}`);
          } else say(`run ${JSON.stringify(run)} was repeated with no kill, freeze or restart to explain it`);
        }
        // Never two at once: a run ends at its handler's end (or its abort, settled) or its worker's death; the next
        // may start only after, unless the earlier run's worker was frozen when it did and the lease expired.
        for (let i = 0; i + 1 < runs.length; i++) {
          const [before, after] = [runs[i]!, runs[i + 1]!];
          const worker = workerById.get(before.workerId)!;
          const endedAt = before.end ?? before.settled?.at ?? worker.killedAt ?? Infinity;
          if (after.start >= endedAt) continue;
          const freeze = freezes.find(
            (f) => f.worker === worker && f.stoppedAt >= before.start && f.stoppedAt <= after.start,
          );
          if (freeze && eventsOf('task.lease_expired', task.id).length > 0) overlaps++;
          else say(`run ${JSON.stringify(after)} overlaps run ${JSON.stringify(before)} with no freeze to explain it`);
        }
      }
      const report = problems.slice(0, 20);
      if (problems.length > 0) {
        // What a reader of a failed run needs: the faults' times, and each problem task's history in the database.
        const ids = [...new Set(problems.map((p) => Number(/^task (\d+)/.exec(p)![1])))].slice(0, 5);
        const history = await db.db
          .selectFrom('events')
          .select(['subject_id', 'kind', 'actor', 'data', 'created_at'])
          .where('subject_type', '=', 'task')
          .where(
            'subject_id',
            'in',
            ids.map((id) => String(id)),
          )
          .orderBy('id')
          .execute();
        report.push(
          `restart ${restart!.begin}..${restart!.end}, freezes ${JSON.stringify(freezes.map((f) => [f.worker.workerId, f.stoppedAt, f.continuedAt]))}`,
          ...history.map((e) => `task ${e.subject_id} ${e.kind} by ${e.actor} at ${e.created_at}: ${e.data}`),
        );
      }
      expect(report).toEqual([]);

      // Each pre-restart worker the test left alive completed tasks after the restart: it reconnected by itself.
      const survivors = workers.filter((w) => w.killedAt === undefined && Number(w.workerId.slice(1)) <= WORKERS);
      expect(survivors).toContain(steady);
      for (const worker of survivors) {
        const after = logs
          .get(worker.workerId)!
          .filter((l) => l.event === 'settled' && l.outcome === 'completed' && l.at > restart!.end!);
        expect(after.length, `${worker.workerId} completed tasks after the restart`).toBeGreaterThan(0);
      }
      // The chaos must have hit running tasks, or this test proved nothing.
      expect(duplicates.killed).toBeGreaterThan(0);

      const restartErrors = [...logs.values()].flat().filter((l) => l.event === 'error').length;
      console.info(
        `chaos: ${TASKS} tasks, ${workers.length} worker processes, ${kills} SIGKILLs, ${freezes.length} freezes ` +
          `(${FREEZE_MS} ms), PostgreSQL restarted (immediate) in ${restart!.end! - restart!.begin} ms with ` +
          `${restartErrors} worker errors logged and ${exitedBySelf.length} workers started during it restarted; ${runCount} handler runs, duplicates ${JSON.stringify(duplicates)}, ` +
          `${overlaps} overlaps (frozen workers); drained in ${drainedMs} ms\n` +
          `freezes ${JSON.stringify(freezes.map((f) => ({ workerId: f.worker.workerId, from: f.stoppedAt, to: f.continuedAt })))}, ` +
          `restart ${restart!.begin}..${restart!.end}\n${explained.join('\n')}`,
      );
    },
    60_000 + DRAIN_TIMEOUT_MS,
  );
});

/** Runs from the workers' logs: one per (worker, task, attempt) start, with its end and settled outcome if logged. */
function collectRuns(logs: ReadonlyMap<string, ChaosRunLine[]>): Map<number, Run[]> {
  const byTask = new Map<number, Run[]>();
  for (const [workerId, lines] of logs) {
    const open = new Map<string, Run>();
    let last: Run | undefined;
    for (const line of lines) {
      if (line.event === 'error') {
        // The worker loop's error right after a run that never settled: its completion (or failure) did not commit.
        if (last && !last.settled) last.errorAt ??= line.at;
        continue;
      }
      const key = `${line.taskId}:${line.attempt}`;
      if (line.event === 'start') {
        const run: Run = { workerId, taskId: line.taskId, attempt: line.attempt, start: line.at };
        open.set(key, run);
        last = run;
        const runs = byTask.get(line.taskId);
        if (runs) runs.push(run);
        else byTask.set(line.taskId, [run]);
      } else if (line.event === 'end') {
        open.get(key)!.end = line.at;
      } else if (line.event === 'settled') {
        // A claimed task whose lease ran out before it started settles `lease_lost` with no run (run-worker.ts).
        const run = open.get(key);
        if (run) run.settled = { outcome: line.outcome, at: line.at };
      }
    }
  }
  return byTask;
}

/**
 * Why a run that did not complete its task was followed by another: its worker was SIGKILLed after it started (and it
 * never settled), its worker was frozen while it ran, or its completion failed in the restart's outage.
 */
function causeOf(
  run: Run,
  worker: WorkerProcess,
  freezes: readonly Freeze[],
  outage: { from: number; to: number },
  claimedAt: number | undefined,
): Cause | undefined {
  if (run.settled?.outcome === 'completed') return undefined;
  if (worker.killedAt !== undefined && worker.killedAt >= run.start && run.settled === undefined) return 'killed';
  const settledAt = run.settled?.at ?? Infinity;
  if (
    freezes.some(
      (f) =>
        f.worker === worker &&
        f.stoppedAt <= settledAt &&
        (f.continuedAt ?? Infinity) >= Math.min(run.start, claimedAt ?? Infinity),
    )
  ) {
    return 'frozen';
  }
  // The restart: the run's settling statement failed on the dead connection (an error logged, nothing settled), or
  // settled as failed or lease lost while the database was down or just back.
  const during = (at: number | undefined) => at !== undefined && at >= outage.from && at <= outage.to;
  if (run.settled === undefined ? during(run.errorAt) : during(run.settled.at)) return 'restart';
  return undefined;
}

async function notCompletedReport(handle: DatabaseHandle, workers: readonly WorkerProcess[]): Promise<string> {
  const open = await handle.db
    .selectFrom('tasks')
    .select(['id', 'status', 'attempts', 'lease_owner', 'lease_expires_at', 'run_after', 'error'])
    .where('status', '!=', 'completed')
    .orderBy('id')
    .execute();
  const live = workers.filter((w) => w.exitedAt === undefined).map((w) => w.workerId);
  const stderr = workers
    .filter((w) => w.stderr)
    .map((w) => `--- ${w.workerId} stderr:\n${w.stderr.slice(-2_000)}`)
    .join('\n');
  return (
    `${open.length} of ${TASKS} tasks not completed after ${DRAIN_TIMEOUT_MS} ms; live workers: ${live.join(', ')}\n` +
    `${open
      .slice(0, 30)
      .map((task) => JSON.stringify(task))
      .join('\n')}\n${stderr}`
  );
}
