/**
 * @module `autodev agents scale ROLE N` and `restart ROLE` as rows: any process (a CLI, the API) writes the desired
 * state; each running supervisor reads it and reconciles. No messages between processes, only the database.
 * `replicas` is the role's worker count across every process and machine (each runs its share, `agent-processes.ts`);
 * a role never scaled runs `desired_workers` (1) in each process that runs it. A restart bumps the role's
 * `restart_generation`: every worker started under an older generation restarts (no clocks compared across machines).
 */
import { sql, type Kysely } from 'kysely';
import { recordEvent } from '../events/record-event.js';
import type { Role } from '../domain/roles.js';
import type { Database } from '../store/schema.js';

export const DEFAULT_WORKERS_PER_ROLE = 1;
/** The most replicas `scale` accepts for one role, across every process. */
export const MAX_REPLICAS_PER_ROLE = 64;

export interface AgentControl {
  role: Role;
  /** Workers in each process that runs the role, when `replicas` is null (never scaled). */
  desiredWorkers: number;
  /** Workers across every process; null: `desiredWorkers` in each. */
  replicas: number | null;
  restartGeneration: number;
  restartRequestedAt: number | null;
}

export async function scaleRole(db: Kysely<Database>, role: Role, replicas: number, actor: string, now: number) {
  await db
    .insertInto('agent_controls')
    .values({
      role,
      desired_workers: DEFAULT_WORKERS_PER_ROLE,
      replicas,
      restart_requested_at: null,
      updated_by: actor,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('role').doUpdateSet({ replicas, updated_by: actor, updated_at: now }))
    .execute();
  await recordEvent(db, {
    kind: 'agent.scaled',
    subjectType: 'role',
    subjectId: role,
    actor,
    data: { replicas },
    now,
  });
}

/** Bumps the role's restart generation; returns the new one. */
export async function requestRestart(db: Kysely<Database>, role: Role, actor: string, now: number): Promise<number> {
  await db
    .insertInto('agent_controls')
    .values({
      role,
      desired_workers: DEFAULT_WORKERS_PER_ROLE,
      replicas: null,
      restart_generation: 1,
      restart_requested_at: now,
      updated_by: actor,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('role').doUpdateSet({
        restart_generation: sql<number>`agent_controls.restart_generation + 1`,
        restart_requested_at: now,
        updated_by: actor,
        updated_at: now,
      }),
    )
    .execute();
  const row = await db
    .selectFrom('agent_controls')
    .select('restart_generation')
    .where('role', '=', role)
    .executeTakeFirstOrThrow();
  const generation = Number(row.restart_generation);
  await recordEvent(db, {
    kind: 'agent.restart_requested',
    subjectType: 'role',
    subjectId: role,
    actor,
    data: { generation },
    now,
  });
  return generation;
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
      replicas: row?.replicas === null || row?.replicas === undefined ? null : Number(row.replicas),
      restartGeneration: Number(row?.restart_generation ?? 0),
      restartRequestedAt: row?.restart_requested_at ?? null,
    };
  });
}
