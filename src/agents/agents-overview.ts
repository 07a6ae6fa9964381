/**
 * @module The cluster view of `autodev agents status` and `GET /api/agents/status`: per role, the desired workers
 * (replicas across every process, or one per process when never scaled), how many run now, the restart generation,
 * and each live process running the role (host, pid, heartbeat) with its workers and their current tasks.
 */
import type { Kysely } from 'kysely';
import type { Role } from '../domain/roles.js';
import type { Database } from '../store/schema.js';
import { readAgentControls } from './agent-controls.js';
import { listLiveProcesses } from './agent-processes.js';
import { listAgents, STALE_AGENT_MS } from './agent-registry.js';

export interface ProcessView {
  process_id: string;
  host: string;
  pid: number;
  heartbeat_at: number;
  workers: { instance_id: string; status: string; current_task_id: number | null; provider: string | null }[];
}

export interface RoleView {
  role: Role;
  /** Workers wanted across every process; null: `per_process` in each process that runs the role. */
  replicas: number | null;
  per_process: number;
  /** Workers running now (not stopped or crashed), across every process. */
  running: number;
  restart_generation: number;
  processes: ProcessView[];
}

export async function readAgentsOverview(
  db: Kysely<Database>,
  roles: readonly Role[],
  now: number,
): Promise<RoleView[]> {
  const controls = await readAgentControls(db, roles);
  const processes = await listLiveProcesses(db, now);
  const agents = await listAgents(db, { now, staleMs: STALE_AGENT_MS });
  const working = agents.filter((a) => a.status !== 'stopped' && a.status !== 'crashed');
  return controls.map((control) => ({
    role: control.role,
    replicas: control.replicas,
    per_process: control.desiredWorkers,
    running: working.filter((a) => a.role === control.role).length,
    restart_generation: control.restartGeneration,
    processes: processes
      .filter((p) => p.roles.includes(control.role))
      .map((p) => ({
        process_id: p.processId,
        host: p.host,
        pid: p.pid,
        heartbeat_at: p.heartbeatAt,
        workers: working
          .filter((a) => a.role === control.role && a.host === p.host && Number(a.pid) === p.pid)
          .map((a) => ({
            instance_id: a.instance_id,
            status: a.status,
            current_task_id: a.current_task_id === null ? null : Number(a.current_task_id),
            provider: a.provider,
          })),
      })),
  }));
}
