/**
 * @module Agent instances as rows: each worker of a role registers itself, reports its status (idle, working,
 * waiting, rate_limited, stopped, crashed), current task and provider, and heartbeats. The dashboard, `/health` and
 * `autodev agents status` read these rows; nothing else keeps agent state. Rows of processes that are gone (stopped or
 * crashed long ago) are folded into counts by `listLiveAgents`.
 */
import os from 'node:os';
import type { Kysely } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import type { AgentStatus, Database } from '../store/schema.js';

export interface AgentStatusUpdate {
  status: AgentStatus;
  currentTaskId?: number | null;
  provider?: string | null;
  detail?: string | null;
  now: number;
}

export async function registerAgent(
  db: Kysely<Database>,
  agent: { instanceId: string; role: string; now: number },
): Promise<void> {
  const values = {
    instance_id: agent.instanceId,
    role: agent.role,
    status: 'idle' as const,
    current_task_id: null,
    provider: null,
    host: os.hostname(),
    pid: process.pid,
    status_detail: null,
    heartbeat_at: agent.now,
    started_at: agent.now,
  };
  await db
    .insertInto('agents')
    .values(values)
    .onConflict((oc) => oc.column('instance_id').doUpdateSet(values))
    .execute();
  await recordEvent(db, {
    kind: 'agent.started',
    subjectType: 'agent',
    subjectId: agent.instanceId,
    actor: agent.instanceId,
    data: { role: agent.role, status: 'idle' },
    now: agent.now,
  });
}

export async function setAgentStatus(db: Kysely<Database>, instanceId: string, update: AgentStatusUpdate) {
  await db
    .updateTable('agents')
    .set({
      status: update.status,
      heartbeat_at: update.now,
      ...(update.currentTaskId !== undefined ? { current_task_id: update.currentTaskId } : {}),
      ...(update.provider !== undefined ? { provider: update.provider } : {}),
      ...(update.detail !== undefined ? { status_detail: update.detail } : {}),
    })
    .where('instance_id', '=', instanceId)
    .execute();
  await recordEvent(db, {
    kind: 'agent.status',
    subjectType: 'agent',
    subjectId: instanceId,
    actor: instanceId,
    data: {
      status: update.status,
      current_task_id: update.currentTaskId ?? null,
      provider: update.provider ?? null,
      detail: update.detail ?? null,
    },
    now: update.now,
  });
}

export async function heartbeatAgent(db: Kysely<Database>, instanceId: string, now: number) {
  await db.updateTable('agents').set({ heartbeat_at: now }).where('instance_id', '=', instanceId).execute();
}

/** An agent whose heartbeat is older than this is shown as crashed: its process is gone (heartbeats every 10 s). */
export const STALE_AGENT_MS = 60_000;
/**
 * A stopped or crashed agent whose last heartbeat is older than this is folded away (counted, not listed): a process
 * that ended or died that long ago. A stopped agent of a live process keeps heartbeating and stays listed.
 */
export const FOLD_GONE_AGENTS_MS = 10 * 60_000;

/** Agents whose heartbeat is older than `staleMs` are shown as crashed: their process is gone. */
export async function listAgents(db: Kysely<Database>, options: { now: number; staleMs: number }) {
  const rows = await db.selectFrom('agents').selectAll().orderBy('role').orderBy('instance_id').execute();
  return rows.map((row) => ({
    ...row,
    heartbeat_at: Number(row.heartbeat_at),
    status:
      row.status !== 'stopped' && options.now - row.heartbeat_at > options.staleMs ? ('crashed' as const) : row.status,
  }));
}

export type AgentRow = Awaited<ReturnType<typeof listAgents>>[number];

export interface FoldedAgents {
  stopped: number;
  crashed: number;
}

/**
 * The agents to show: every live one, and the rows of processes that are gone (stopped or crashed, heartbeat older
 * than `foldAfterMs`) only as counts, unless `all`.
 *
 * ### Examples
 * ```ts
 * const { agents, folded } = await listLiveAgents(db, { now: Date.now() });
 * // folded: { stopped: 16, crashed: 1 } -> "+ 16 stopped and 1 crashed agents from earlier runs"
 * ```
 */
export async function listLiveAgents(
  db: Kysely<Database>,
  options: { now: number; staleMs?: number; foldAfterMs?: number; all?: boolean },
): Promise<{ agents: AgentRow[]; folded: FoldedAgents }> {
  const rows = await listAgents(db, { now: options.now, staleMs: options.staleMs ?? STALE_AGENT_MS });
  const folded: FoldedAgents = { stopped: 0, crashed: 0 };
  if (options.all) return { agents: rows, folded };
  const foldAfterMs = options.foldAfterMs ?? FOLD_GONE_AGENTS_MS;
  const agents = rows.filter((row) => {
    const gone = (row.status === 'stopped' || row.status === 'crashed') && options.now - row.heartbeat_at > foldAfterMs;
    if (gone) folded[row.status as keyof FoldedAgents]++;
    return !gone;
  });
  return { agents, folded };
}

/** `+ 16 stopped and 1 crashed agents from earlier runs`, or null when nothing is folded. */
export function describeFolded(folded: FoldedAgents): string | null {
  const parts = [
    ...(folded.stopped > 0 ? [`${folded.stopped} stopped`] : []),
    ...(folded.crashed > 0 ? [`${folded.crashed} crashed`] : []),
  ];
  if (parts.length === 0) return null;
  const total = folded.stopped + folded.crashed;
  return `+ ${parts.join(' and ')} agent${total === 1 ? '' : 's'} from earlier runs`;
}
