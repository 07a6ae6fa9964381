/**
 * @module `autodev agents scale ROLE N` and `restart ROLE` as rows: any process (a CLI, the API) writes the desired
 * state; each running supervisor reads it and reconciles. No messages between processes, only the database.
 */
import type { Kysely } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import type { Role } from '../domain/roles.js';
import type { Database } from '../store/schema.js';

export const DEFAULT_WORKERS_PER_ROLE = 1;
export const MAX_WORKERS_PER_ROLE = 16;

export interface AgentControl {
  role: Role;
  desiredWorkers: number;
  restartRequestedAt: number | null;
}

async function upsertControl(
  db: Kysely<Database>,
  role: Role,
  change: { desired_workers?: number; restart_requested_at?: number },
  actor: string,
  now: number,
) {
  await db
    .insertInto('agent_controls')
    .values({
      role,
      desired_workers: change.desired_workers ?? DEFAULT_WORKERS_PER_ROLE,
      restart_requested_at: change.restart_requested_at ?? null,
      updated_by: actor,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('role').doUpdateSet({ ...change, updated_by: actor, updated_at: now }))
    .execute();
}

export async function scaleRole(db: Kysely<Database>, role: Role, workers: number, actor: string, now: number) {
  await upsertControl(db, role, { desired_workers: workers }, actor, now);
  await recordEvent(db, {
    kind: 'agent.scaled',
    subjectType: 'role',
    subjectId: role,
    actor,
    data: { workers },
    now,
  });
}

export async function requestRestart(db: Kysely<Database>, role: Role, actor: string, now: number) {
  await upsertControl(db, role, { restart_requested_at: now }, actor, now);
  await recordEvent(db, { kind: 'agent.restart_requested', subjectType: 'role', subjectId: role, actor, now });
}

/** The desired state of every role; roles never scaled get the default. */
export async function readAgentControls(db: Kysely<Database>, roles: readonly Role[]): Promise<AgentControl[]> {
  const rows = await db.selectFrom('agent_controls').selectAll().execute();
  const byRole = new Map(rows.map((r) => [r.role, r]));
  return roles.map((role) => {
    const row = byRole.get(role);
    return {
      role,
      desiredWorkers: row?.desired_workers ?? DEFAULT_WORKERS_PER_ROLE,
      restartRequestedAt: row?.restart_requested_at ?? null,
    };
  });
}
