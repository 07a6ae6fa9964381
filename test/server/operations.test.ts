/**
 * The operations routes: `GET /api/agents/status`, `POST /api/agents/:role/scale` and `/restart` (admins only; bad
 * input is a 400 that writes nothing). Both databases.
 */
import { describe, expect, it } from 'vitest';
import { registerProcess } from '../../src/agents/agent-processes.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

interface RoleStatus {
  role: string;
  replicas: number | null;
  per_process: number;
  running: number;
  restart_generation: number;
  processes: { host: string; pid: number; workers: { instance_id: string; current_task_id: number | null }[] }[];
}

describe.each(DIALECTS)('%s: agents operations API', (dialect) => {
  const s = useTestServer(dialect);

  it('status lists each role with its live processes and their workers', async () => {
    const now = Date.now();
    await registerProcess(s.db.handle.db, { processId: 'host-a:1:x', roles: ['builder', 'tester'], now });
    await s.db.handle.db
      .insertInto('agents')
      .values({
        instance_id: `builder@${'host'}#1`,
        role: 'builder',
        status: 'working',
        current_task_id: 7,
        provider: 'claude',
        host: (await s.db.handle.db.selectFrom('agent_processes').select('host').executeTakeFirstOrThrow()).host,
        pid: process.pid,
        status_detail: null,
        heartbeat_at: now,
        started_at: now,
      })
      .execute();
    const response = await s.request({ method: 'GET', url: '/api/agents/status', token: s.tokens.viewer });
    expect(response.statusCode).toBe(200);
    const roles = (response.json() as { roles: RoleStatus[] }).roles;
    expect(roles.map((r) => r.role)).toHaveLength(8);
    const builder = roles.find((r) => r.role === 'builder')!;
    expect(builder).toMatchObject({ replicas: null, per_process: 1, running: 1, restart_generation: 0 });
    expect(builder.processes).toHaveLength(1);
    expect(builder.processes[0]!.workers).toMatchObject([{ current_task_id: 7 }]);
    expect(roles.find((r) => r.role === 'pm')!.processes).toEqual([]);
  });

  it('scale and restart are for admins; they write the desired state and answer the role status', async () => {
    const scaled = await s.request({ method: 'POST', url: '/api/agents/reviewer/scale', payload: { replicas: 3 } });
    expect(scaled.statusCode).toBe(200);
    expect(scaled.json()).toMatchObject({ role: 'reviewer', replicas: 3 });
    const restarted = await s.request({ method: 'POST', url: '/api/agents/reviewer/restart' });
    expect(restarted.statusCode).toBe(200);
    expect(restarted.json()).toMatchObject({ role: 'reviewer', replicas: 3, restart_generation: 1 });
    const kinds = await s.db.handle.db
      .selectFrom('events')
      .select('kind')
      .where('subject_type', '=', 'role')
      .orderBy('id')
      .execute();
    expect(kinds.map((k) => k.kind)).toEqual(['agent.scaled', 'agent.restart_requested']);
  });

  it.each([
    ['an approver', { url: '/api/agents/pm/scale', payload: { replicas: 1 }, token: 'approver' }, 403],
    ['a viewer restarting', { url: '/api/agents/pm/restart', token: 'viewer' }, 403],
    ['an unknown role', { url: '/api/agents/wizard/scale', payload: { replicas: 1 } }, 400],
    ['too many replicas', { url: '/api/agents/pm/scale', payload: { replicas: 65 } }, 400],
    ['a negative count', { url: '/api/agents/pm/scale', payload: { replicas: -1 } }, 400],
    ['a fraction', { url: '/api/agents/pm/scale', payload: { replicas: 1.5 } }, 400],
    ['an extra field', { url: '/api/agents/pm/scale', payload: { replicas: 1, force: true } }, 400],
  ] as const)('%s: refused with %#, nothing written', async (_name, request, status) => {
    const before = await s.db.handle.db.selectFrom('agent_controls').selectAll().execute();
    const response = await s.request({
      method: 'POST',
      url: request.url,
      ...('payload' in request ? { payload: request.payload } : {}),
      ...('token' in request ? { token: s.tokens[request.token] } : {}),
    });
    expect(response.statusCode).toBe(status);
    expect(errorOf(response).code).toBe(status === 403 ? 'FORBIDDEN' : 'VALIDATION_FAILED');
    expect(await s.db.handle.db.selectFrom('agent_controls').selectAll().execute()).toEqual(before);
  });
});
