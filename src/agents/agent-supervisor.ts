/**
 * @module Runs the agents of this process: for each role, as many worker loops as `agent_controls` asks for (its
 * share of the role's replicas across every process, `agent-processes.ts`; or `desired_workers` each when the role
 * was never scaled), the process registered in `agent_processes` and each loop as an `agents` row with its status, current task, provider and heartbeat. A loop that crashes is marked
 * `crashed` and restarted after `watcher.restart_delay`; a restart request (a newer restart generation) restarts the role's loops; the daily token
 * budget pauses claiming (status says so), and so does a role none of whose providers can run (not logged in, or rate
 * limited with no usable fallback: `waiting` / `rate_limited` with the reason, `provider-readiness.ts`), looked at
 * again every `PROVIDER_RECHECK_MS` and on every wake-up, so a login starts the work without a restart; a task given
 * back because its providers are rate limited leaves the agent `rate_limited` (the detail says which and until when)
 * until it works again. Stopping releases running tasks (the
 * queue's worker loop does that). A workflow task that runs out of attempts (its last attempt failed, or its lease
 * expired for good) stops its workflow for a human in the same transaction (`agentDeadLetterHook`).
 */
import os from 'node:os';
import { TASK_TYPES_BY_ROLE, type Role } from '../domain/roles.js';
import { ReleaseTask, runWorker, type TaskHandler } from '../queue/run-worker.js';
import type { DeadLetterHook } from '../queue/settle-task.js';
import { closeLostAttempts } from './lost-attempts.js';
import { onWorkflowTaskDeadLettered } from '../workflow/advance-workflow.js';
import { workflowDeps } from '../workflow/workflow-deps.js';
import { readAgentControls, type AgentControl } from './agent-controls.js';
import {
  heartbeatProcess,
  listLiveProcesses,
  markProcessStopped,
  newProcessId,
  registerProcess,
  shareOf,
  type AgentProcess,
} from './agent-processes.js';
import { heartbeatAgent, registerAgent, setAgentStatus } from './agent-registry.js';
import { activeProviderLimits } from './provider-limits.js';
import { roleReadiness } from './provider-readiness.js';
import { createAgentTaskHandler, type AgentRuntimeDeps } from './run-agent-task.js';
import { startOfUtcDay, usageSince } from './session-store.js';
import { taskWorkBranch } from './task-work-branch.js';
import { sleepUnlessAborted } from '../sleep.js';
import { isDatabaseUnavailableError } from '../store/open-database.js';

const RECONCILE_EVERY_MS = 2_000;
/** While no provider can run, how often a paused worker looks again (a login or a new key starts it, no restart). */
export const PROVIDER_RECHECK_MS = 3_000;

/**
 * The queue's dead-letter hook for agent workers: a dead-lettered workflow task moves its workflow to a human, with
 * the branch its work is on (so a resume continues it).
 */
export function agentDeadLetterHook(
  deps: Pick<AgentRuntimeDeps, 'queue' | 'settings'> & { dataDir?: string },
  actor: string,
): DeadLetterHook {
  return async (tx, task, error) => {
    if (task.workflowId === null) return;
    const branch = await taskWorkBranch(tx, task, deps.dataDir);
    const workflow = workflowDeps(deps.queue, deps.settings.workflow.max_fix_rounds);
    await onWorkflowTaskDeadLettered(tx, workflow, task, error, actor, branch);
  };
}
const AGENT_HEARTBEAT_MS = 10_000;
const DAY_MS = 86_400_000;

interface RunningWorker {
  instanceId: string;
  role: Role;
  abort: AbortController;
  done: Promise<void>;
  startedAt: number;
  /** The role's restart generation when it started: a higher one restarts it. */
  generation: number;
}

export interface SupervisorOptions {
  roles: readonly Role[];
  /** Overrides `agent_controls` for every role (tests); normally the database decides. */
  workersPerRole?: number;
  /** Idle wait of each worker loop between claims when nothing wakes it. */
  idleWaitMs?: number;
}

export class AgentSupervisor {
  private readonly workers = new Map<string, RunningWorker>();
  private readonly nextIndex = new Map<Role, number>();
  private reconcileTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  private stopped = false;
  /** This process's row in `agent_processes` (its share of each role's replicas is computed against it). */
  readonly processId: string;

  constructor(
    private readonly deps: AgentRuntimeDeps,
    private readonly options: SupervisorOptions,
  ) {
    this.processId = newProcessId(deps.queue.clock());
  }

  private get db() {
    return this.deps.queue.handle.db;
  }

  private now() {
    return this.deps.queue.clock();
  }

  async start(): Promise<void> {
    await registerProcess(this.db, { processId: this.processId, roles: this.options.roles, now: this.now() });
    // The first reconcile starts the workers. A database outage meanwhile (a PostgreSQL restart between two workers'
    // registrations) leaves the rest to the next reconcile, as an outage later does; any other error fails the start.
    await this.reconcile().catch((error: unknown) => {
      if (!isDatabaseUnavailableError(error)) throw error;
      this.deps.logger.warn(
        { err: error },
        `the database is unavailable while starting agents; retrying in ${RECONCILE_EVERY_MS / 1000} s`,
      );
    });
    this.reconcileTimer = setInterval(() => {
      this.reconciling = this.reconciling
        .then(() => this.reconcile())
        .catch((error: unknown) => {
          this.deps.logger.error({ err: error }, 'agent supervisor could not reconcile');
        });
    }, RECONCILE_EVERY_MS);
    this.heartbeatTimer = setInterval(() => {
      for (const worker of this.workers.values()) {
        heartbeatAgent(this.db, worker.instanceId, this.now()).catch(() => undefined);
      }
    }, AGENT_HEARTBEAT_MS);
  }

  /** Worker ids running now, by role. */
  running(): Record<string, string[]> {
    const byRole: Record<string, string[]> = {};
    for (const worker of this.workers.values()) (byRole[worker.role] ??= []).push(worker.instanceId);
    return byRole;
  }

  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    await heartbeatProcess(this.db, this.processId, this.now());
    const controls = await readAgentControls(this.db, this.options.roles);
    const live = controls.some((c) => c.replicas !== null) ? await listLiveProcesses(this.db, this.now()) : [];
    for (const control of controls) {
      const desired = this.options.workersPerRole ?? this.desiredHere(control, live);
      const mine = [...this.workers.values()].filter((w) => w.role === control.role);
      for (const worker of mine) {
        if (worker.generation < control.restartGeneration) await this.stopWorker(worker, 'restart requested');
      }
      const alive = [...this.workers.values()].filter((w) => w.role === control.role);
      for (let i = alive.length; i < desired; i++) await this.startWorker(control.role, control.restartGeneration);
      for (const worker of alive.slice(desired)) await this.stopWorker(worker, 'scaled down');
    }
  }

  /** This process's workers of a role: its share of the replicas, or `desired_workers` when never scaled. */
  private desiredHere(control: AgentControl, live: readonly AgentProcess[]): number {
    if (control.replicas === null) return control.desiredWorkers;
    const running = live.filter((p) => p.roles.includes(control.role)).map((p) => p.processId);
    return shareOf(this.processId, running, control.replicas);
  }

  private async startWorker(role: Role, generation: number): Promise<void> {
    const index = (this.nextIndex.get(role) ?? 0) + 1;
    this.nextIndex.set(role, index);
    const instanceId = `${role}@${os.hostname()}:${process.pid}#${index}`;
    const abort = new AbortController();
    await registerAgent(this.db, { instanceId, role, now: this.now() });
    const worker: RunningWorker = {
      instanceId,
      role,
      abort,
      done: Promise.resolve(),
      startedAt: this.now(),
      generation,
    };
    this.deps.logger.info({ lifecycle: true, agent: instanceId, generation }, 'starting agent');
    worker.done = this.runLoop(worker).finally(() => this.workers.delete(instanceId));
    this.workers.set(instanceId, worker);
  }

  private async runLoop(worker: RunningWorker): Promise<void> {
    const { deps } = this;
    const log = deps.logger.child({ agent: worker.instanceId });
    let currentProvider: string | null = null;
    // Status writes are chained so they land in the order they were made (a late "working" must not overwrite the
    // "idle" that followed it).
    let statusWrites: Promise<void> = Promise.resolve();
    const status = (update: Parameters<typeof setAgentStatus>[2]) => {
      statusWrites = statusWrites
        .then(() => setAgentStatus(this.db, worker.instanceId, update))
        .catch((error: unknown) => log.error({ err: error }, 'could not write agent status'));
      return statusWrites;
    };
    let budgetPaused = false;
    /** Why claims are paused for want of a runnable provider (the status detail), or undefined when they are not. */
    let providerWait: string | undefined;
    /** Why the last task was given back, when it was because every usable provider is rate limited. */
    let released: ReleaseTask | undefined;
    while (!worker.abort.signal.aborted) {
      try {
        const runTask = createAgentTaskHandler(
          {
            ...deps,
            logger: log,
            onProvider: (provider) => {
              currentProvider = provider;
              void status({ status: 'working', provider, now: this.now() });
            },
          },
          worker.role,
        );
        const handler: TaskHandler = async (task, context) => {
          released = undefined;
          try {
            return await runTask(task, context);
          } catch (error) {
            if (error instanceof ReleaseTask) released = error;
            throw error;
          }
        };
        await runWorker({
          queue: deps.queue,
          workerId: worker.instanceId,
          types: TASK_TYPES_BY_ROLE[worker.role],
          handler,
          signal: worker.abort.signal,
          onDeadLetter: agentDeadLetterHook(deps, worker.instanceId),
          onReclaimed: (taskIds) => closeLostAttempts(deps, taskIds),
          ...(this.options.idleWaitMs !== undefined ? { idleWaitMs: this.options.idleWaitMs } : {}),
          pauseClaims: async () => {
            const budget = deps.settings.tokens.daily_budget;
            if (budget > 0) {
              const dayStart = startOfUtcDay(this.now());
              const used = await usageSince(this.db, dayStart);
              if (used.tokens >= budget) {
                log.debug({ used: used.tokens, budget }, 'not claiming tasks: daily token budget spent');
                if (!budgetPaused) {
                  budgetPaused = true;
                  providerWait = undefined;
                  await status({
                    status: 'stopped',
                    currentTaskId: null,
                    detail: `daily token budget spent (${used.tokens} of ${budget} tokens); resumes at 00:00 UTC`,
                    now: this.now(),
                  });
                }
                return dayStart + DAY_MS - this.now();
              }
              if (budgetPaused) {
                budgetPaused = false;
                await status({ status: 'idle', detail: null, now: this.now() });
              }
            }
            // No provider the role may use can run (not logged in, or limited with no usable fallback): claim
            // nothing, so the task stays pending with its attempts, and look again every few seconds (a login, a
            // key in the environment) or at the limit's reset.
            const now = this.now();
            const readiness = roleReadiness({
              settings: deps.settings,
              env: deps.env,
              role: worker.role,
              limits: await activeProviderLimits(this.db, now),
              now,
              forceProvider: deps.forceProvider,
            });
            if (readiness.ready) {
              if (providerWait !== undefined) {
                providerWait = undefined;
                log.info('a provider can run again; claiming tasks');
                await status({ status: 'idle', detail: null, now: this.now() });
              }
              return undefined;
            }
            if (providerWait !== readiness.reason) {
              providerWait = readiness.reason;
              log.warn({ reason: readiness.reason }, 'not claiming tasks: no provider can run');
              await status({ status: readiness.status, currentTaskId: null, detail: readiness.reason, now });
            }
            const untilReset = readiness.recheckAt === null ? Infinity : Math.max(readiness.recheckAt - now, 1);
            return Math.min(PROVIDER_RECHECK_MS, untilReset);
          },
          onTaskStart: (task) =>
            void status({ status: 'working', currentTaskId: task.id, detail: null, now: this.now() }),
          onTaskEnd: (task, outcome) => {
            log.info({ lifecycle: true, task: task.id, type: task.type, outcome }, `task ${outcome}`);
            const limited = outcome === 'released' ? released : undefined;
            void status({
              status: limited ? 'rate_limited' : 'idle',
              currentTaskId: null,
              provider: currentProvider,
              detail: limited ? limited.reason : null,
              now: this.now(),
            });
          },
          onError: (error, task) => log.error({ err: error, task: task?.id }, 'worker error'),
        });
      } catch (error) {
        if (worker.abort.signal.aborted) break;
        log.error({ err: error }, 'agent loop crashed; restarting after watcher.restart_delay');
        await status({ status: 'crashed', currentTaskId: null, detail: (error as Error).message, now: this.now() });
        await sleepUnlessAborted(deps.settings.watcher.restart_delay * 1000, worker.abort.signal);
        await status({ status: 'idle', detail: null, now: this.now() });
      }
    }
    await status({ status: 'stopped', currentTaskId: null, now: this.now() });
  }

  private async stopWorker(worker: RunningWorker, reason: string): Promise<void> {
    this.deps.logger.info({ lifecycle: true, agent: worker.instanceId, reason }, 'stopping agent');
    worker.abort.abort(new Error(reason));
    await worker.done;
  }

  /** Stops every loop; running tasks are released back to the queue (not counted as attempts). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reconcileTimer);
    clearInterval(this.heartbeatTimer);
    await this.reconciling;
    await Promise.all([...this.workers.values()].map((w) => this.stopWorker(w, 'shutting down')));
    await markProcessStopped(this.db, this.processId, this.now()).catch((error: unknown) => {
      this.deps.logger.warn({ err: error }, 'could not mark this agent process stopped; it drops out when stale');
    });
  }
}
