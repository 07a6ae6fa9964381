/**
 * @module Agent instances as rows: each worker of a role registers itself, reports its status (idle, working,
 * rate_limited, stopped, crashed), current task and provider, and heartbeats. The dashboard, `/health` and
 * `autodev agents status` read these rows; nothing else keeps agent state.
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

/** Agents whose heartbeat is older than `staleMs` are shown as crashed: their process is gone. */
export async function listAgents(db: Kysely<Database>, options: { now: number; staleMs: number }) {
  const rows = await db.selectFrom('agents').selectAll().orderBy('role').orderBy('instance_id').execute();
  return rows.map((row) => ({
    ...row,
    status:
      row.status !== 'stopped' && options.now - row.heartbeat_at > options.staleMs ? ('crashed' as const) : row.status,
  }));
}
