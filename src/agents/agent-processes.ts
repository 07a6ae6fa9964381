/**
 * @module The processes that run agents, as rows (`agent_processes`): each registers with its roles, heartbeats
 * while it runs and marks itself stopped at the end. A role's replicas (`agent_controls.replicas`) are shared out
 * over the live processes that run it, the same way in every process (`shareOf`), so the processes converge on the
 * desired count across machines without talking to each other.
 */
import os from 'node:os';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

/** A process whose heartbeat is older than this is gone (it heartbeats with each reconcile, every 2 s). */
export const STALE_PROCESS_MS = 15_000;

export interface AgentProcess {
  processId: string;
  host: string;
  pid: number;
  roles: string[];
  startedAt: number;
  heartbeatAt: number;
}

export function newProcessId(now: number): string {
  return `${os.hostname()}:${process.pid}:${now.toString(36)}`;
}

export async function registerProcess(
  db: Kysely<Database>,
  process_: { processId: string; roles: readonly string[]; now: number },
): Promise<void> {
  const values = {
    process_id: process_.processId,
    host: os.hostname(),
    pid: process.pid,
    roles: process_.roles.join(','),
    started_at: process_.now,
    heartbeat_at: process_.now,
    stopped_at: null,
  };
  await db
    .insertInto('agent_processes')
    .values(values)
    .onConflict((oc) => oc.column('process_id').doUpdateSet(values))
    .execute();
}

export async function heartbeatProcess(db: Kysely<Database>, processId: string, now: number): Promise<void> {
  await db.updateTable('agent_processes').set({ heartbeat_at: now }).where('process_id', '=', processId).execute();
}

export async function markProcessStopped(db: Kysely<Database>, processId: string, now: number): Promise<void> {
  await db
    .updateTable('agent_processes')
    .set({ stopped_at: now, heartbeat_at: now })
    .where('process_id', '=', processId)
    .execute();
}

/** Processes that have not stopped and heartbeated within `staleMs`, in process-id order. */
export async function listLiveProcesses(
  db: Kysely<Database>,
  now: number,
  staleMs = STALE_PROCESS_MS,
): Promise<AgentProcess[]> {
  const rows = await db
    .selectFrom('agent_processes')
    .selectAll()
    .where('stopped_at', 'is', null)
    .where('heartbeat_at', '>=', now - staleMs)
    .orderBy('process_id')
    .execute();
  return rows.map((row) => ({
    processId: row.process_id,
    host: row.host,
    pid: Number(row.pid),
    roles: row.roles === '' ? [] : row.roles.split(','),
    startedAt: Number(row.started_at),
    heartbeatAt: Number(row.heartbeat_at),
  }));
}

/**
 * How many of a role's `replicas` the process `processId` runs, among the live processes running the role (sorted
 * by id): an equal share, the first ones taking one more when it does not divide evenly. Every process computes the
 * same split from the same rows; one that is not among them (not yet seen) runs none.
 *
 * ### Examples
 * ```ts
 * shareOf('b', ['a', 'b', 'c'], 4) // 1 (a runs 2, b 1, c 1)
 * ```
 */
export function shareOf(processId: string, liveProcessIds: readonly string[], replicas: number): number {
  const index = liveProcessIds.indexOf(processId);
  if (index < 0 || liveProcessIds.length === 0) return 0;
  const base = Math.floor(replicas / liveProcessIds.length);
  return base + (index < replicas % liveProcessIds.length ? 1 : 0);
}
