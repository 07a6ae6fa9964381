/**
 * @module The routes the dashboard reads: agents, instructions, sessions and their transcripts, the event stream's
 * `?access_token=`, and the built dashboard served at `/` (never outside web/dist).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FOLD_GONE_AGENTS_MS, registerAgent, setAgentStatus } from '../../src/agents/agent-registry.js';
import { markInstructionsDelivered } from '../../src/agents/instructions.js';
import { markProviderLimited } from '../../src/agents/provider-limits.js';
import { appendTranscript, finishSession, startSession } from '../../src/agents/session-store.js';
import { createLogger } from '../../src/log.js';
import { buildServer } from '../../src/server/build-server.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

describe.each(DIALECTS)('%s: dashboard routes', (dialect) => {
  const s = useTestServer(dialect);
  const db = () => s.db.handle.db;

  it('GET /api/me answers the token name and role', async () => {
    const response = await s.request({ method: 'GET', url: '/api/me', token: s.tokens.viewer });
    expect(response.json()).toEqual({ name: 'grafana', role: 'viewer' });
    expect((await s.request({ method: 'GET', url: '/api/me', token: null })).statusCode).toBe(401);
  });

  describe('GET /api/agents', () => {
    it('lists agents (stale ones as crashed), rate-limited providers and usage today', async () => {
      const now = Date.now();
      await registerAgent(db(), { instanceId: 'builder-1', role: 'builder', now });
      await setAgentStatus(db(), 'builder-1', { status: 'working', currentTaskId: 7, provider: 'claude', now });
      await registerAgent(db(), { instanceId: 'pm-1', role: 'pm', now: now - 2 * 60_000 });
      // Processes gone long ago: one stopped cleanly, one went silent.
      const longAgo = now - FOLD_GONE_AGENTS_MS - 60_000;
      await registerAgent(db(), { instanceId: 'tester-old', role: 'tester', now: longAgo });
      await setAgentStatus(db(), 'tester-old', { status: 'stopped', now: longAgo });
      await registerAgent(db(), { instanceId: 'builder-old', role: 'builder', now: longAgo });
      await markProviderLimited(db(), { provider: 'codex', until: now + 60_000, reason: '429', now });
      const session = await startSession(db(), {
        taskId: null,
        role: 'builder',
        agentInstanceId: 'builder-1',
        provider: 'claude',
        model: null,
        now,
      });
      await finishSession(db(), session, {
        status: 'succeeded',
        outcome: 'done',
        providerSessionId: null,
        model: 'm',
        tokensIn: 100,
        tokensOut: 20,
        tokensCache: 0,
        costUsd: 0.5,
        now,
      });

      const response = await s.request({ method: 'GET', url: '/api/agents', token: s.tokens.viewer });
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json();
      expect(body.agents.map((a: { instance_id: string }) => a.instance_id).sort()).toEqual(['builder-1', 'pm-1']);
      expect(body.folded).toEqual({ stopped: 1, crashed: 1 });
      expect(body.agents.find((a: { role: string }) => a.role === 'builder')).toMatchObject({
        instance_id: 'builder-1',
        status: 'working',
        current_task_id: 7,
        provider: 'claude',
      });
      expect(body.agents.find((a: { role: string }) => a.role === 'pm').status).toBe('crashed');
      expect(body.provider_limits).toEqual([
        { provider: 'codex', limited_until: new Date(now + 60_000).toISOString(), reason: '429' },
      ]);
      expect(body.today).toEqual({ tokens_in: 100, tokens_out: 20, tokens: 120, cost_usd: 0.5, daily_budget: 0 });

      // ?all=true lists them too.
      const all = (await s.request({ method: 'GET', url: '/api/agents?all=true', token: s.tokens.viewer })).json();
      expect(all.folded).toEqual({ stopped: 0, crashed: 0 });
      expect(
        Object.fromEntries(all.agents.map((a: { instance_id: string; status: string }) => [a.instance_id, a.status])),
      ).toEqual({ 'builder-1': 'working', 'pm-1': 'crashed', 'tester-old': 'stopped', 'builder-old': 'crashed' });
      const bad = await s.request({ method: 'GET', url: '/api/agents?all=yes', token: s.tokens.viewer });
      expect(bad.statusCode).toBe(400);
    });

    it('needs a token', async () => {
      const response = await s.request({ method: 'GET', url: '/api/agents', token: null });
      expect(response.statusCode).toBe(401);
    });
  });

  describe('instructions', () => {
    const send = (role: string, payload: unknown, token?: string) =>
      s.request({ method: 'POST', url: `/api/agents/${role}/instructions`, payload: payload as object, token });

    it('creates an instruction (201) and lists it, then shows when it was delivered', async () => {
      const response = await send('builder', { message: '  use pnpm  ' }, s.tokens.approver);
      expect(response.statusCode, response.body).toBe(201);
      const created = response.json();
      expect(created).toMatchObject({
        role: 'builder',
        message: 'use pnpm',
        created_by: 'api:release-bot',
        delivered_at: null,
        delivered_to_session_id: null,
      });
      const session = await startSession(db(), {
        taskId: null,
        role: 'builder',
        agentInstanceId: null,
        provider: 'claude',
        model: null,
        now: Date.now(),
      });
      await markInstructionsDelivered(db(), [created.id], { sessionId: session, now: Date.now() });
      const list = await s.request({ method: 'GET', url: '/api/instructions?role=builder', token: s.tokens.viewer });
      expect(list.statusCode).toBe(200);
      const [shown] = list.json().instructions;
      expect(shown.id).toBe(created.id);
      expect(shown.delivered_to_session_id).toBe(session);
      expect(typeof shown.delivered_at).toBe('string');
      const other = await s.request({ method: 'GET', url: '/api/instructions?role=pm' });
      expect(other.json().instructions).toEqual([]);
    });

    it('refuses viewers with 403 and writes nothing', async () => {
      const before = await s.rowCounts();
      const response = await send('builder', { message: 'hi' }, s.tokens.viewer);
      expect(response.statusCode).toBe(403);
      expect(errorOf(response).code).toBe('FORBIDDEN');
      expect(await s.rowCounts()).toEqual(before);
    });

    it.each([
      ['an unknown role', 'wizard', { message: 'hi' }],
      ['an empty message', 'builder', { message: '   ' }],
      ['a missing message', 'builder', {}],
      ['an unknown field', 'builder', { message: 'hi', urgent: true }],
      ['a message too long', 'builder', { message: 'x'.repeat(10_001) }],
    ])('answers 400 to %s', async (_what, role, payload) => {
      const response = await send(role, payload);
      expect(response.statusCode, response.body).toBe(400);
      expect(errorOf(response).code).toBe('VALIDATION_FAILED');
    });

    it('answers 400 to an unknown role filter', async () => {
      const response = await s.request({ method: 'GET', url: '/api/instructions?role=wizard' });
      expect(response.statusCode).toBe(400);
    });
  });

  describe('sessions', () => {
    const seed = async () => {
      const task = await s.queue.enqueue({ type: 'write_spec', createdBy: 'test' });
      const id = await startSession(db(), {
        taskId: task.id,
        role: 'pm',
        agentInstanceId: 'pm-1',
        provider: 'claude',
        model: 'sonnet',
        now: Date.now(),
      });
      await appendTranscript(db(), id, [
        { seq: 0, kind: 'message', data: { text: 'hello' }, at: Date.now() },
        { seq: 1, kind: 'tool_call', data: { name: 'read_file' }, at: Date.now() },
        { seq: 2, kind: 'command', data: { command: 'npm test' }, at: Date.now() },
      ]);
      return { task, id };
    };

    it('shows a session with its transcript, and only newer entries with ?after=', async () => {
      const { task, id } = await seed();
      const first = await s.request({ method: 'GET', url: `/api/sessions/${id}`, token: s.tokens.viewer });
      expect(first.statusCode, first.body).toBe(200);
      const body = first.json();
      expect(body.session).toMatchObject({ id, task_id: task.id, role: 'pm', status: 'running', finished_at: null });
      expect(body.events.map((e: { seq: number }) => e.seq)).toEqual([0, 1, 2]);
      expect(body.events[0]).toMatchObject({ kind: 'message', data: { text: 'hello' } });
      expect(body.next_after).toBe(2);

      const later = await s.request({ method: 'GET', url: `/api/sessions/${id}?after=1` });
      expect(later.json().events.map((e: { seq: number }) => e.seq)).toEqual([2]);
      const none = await s.request({ method: 'GET', url: `/api/sessions/${id}?after=2` });
      expect(none.json()).toMatchObject({ events: [], next_after: 2 });
      const page = await s.request({ method: 'GET', url: `/api/sessions/${id}?limit=2` });
      expect(page.json().next_after).toBe(1);
    });

    it("lists a task's sessions", async () => {
      const { task, id } = await seed();
      const response = await s.request({ method: 'GET', url: `/api/tasks/${task.id}/sessions` });
      expect(response.statusCode).toBe(200);
      expect(response.json().sessions.map((x: { id: number }) => x.id)).toEqual([id]);
    });

    it.each([
      ['/api/sessions/999999', 404, 'NOT_FOUND'],
      ['/api/sessions/abc', 400, 'VALIDATION_FAILED'],
      ['/api/sessions/1?after=-1', 400, 'VALIDATION_FAILED'],
      ['/api/sessions/1?limit=5000', 400, 'VALIDATION_FAILED'],
      ['/api/sessions/1?verbose=1', 400, 'VALIDATION_FAILED'],
      ['/api/tasks/999999/sessions', 404, 'TASK_NOT_FOUND'],
      ['/api/tasks/0/sessions', 400, 'VALIDATION_FAILED'],
    ])('GET %s answers %i %s', async (url, status, code) => {
      const response = await s.request({ method: 'GET', url });
      expect(response.statusCode, response.body).toBe(status);
      expect(errorOf(response).code).toBe(code);
    });
  });

  describe('?access_token=', () => {
    it('is not accepted by routes other than the event stream', async () => {
      const response = await s.request({
        method: 'GET',
        url: `/api/agents?access_token=${s.tokens.admin}`,
        token: null,
      });
      expect(response.statusCode).toBe(401);
    });
  });
});

describe.each(DIALECTS)('%s: event stream with ?access_token=', (dialect) => {
  const t = useTestDatabase(dialect);

  it('opens the stream with a valid token in the query and refuses a bad one', async () => {
    const { createApiToken } = await import('../../src/server/api-tokens.js');
    const queue = new TaskQueue(t.handle, DEFAULT_QUEUE_SETTINGS);
    const app = await buildServer({
      handle: t.handle,
      queue,
      logger: createLogger({ level: 'silent', pretty: false }),
      version: 'test',
    });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      if (!address || typeof address === 'string') throw new Error('no port');
      const base = `http://127.0.0.1:${address.port}`;
      const token = await createApiToken(t.handle.db, { name: 'dashboard', role: 'viewer', now: Date.now() });
      const bad = await fetch(`${base}/api/events?access_token=nope`);
      expect(bad.status).toBe(401);
      const controller = new AbortController();
      const good = await fetch(`${base}/api/events?access_token=${token}`, { signal: controller.signal });
      expect(good.status).toBe(200);
      expect(good.headers.get('content-type')).toMatch(/^text\/event-stream/);
      controller.abort();
    } finally {
      await app.close();
      await queue.close();
    }
  });
});

describe.each(DIALECTS)('%s: the dashboard at /', (dialect) => {
  const t = useTestDatabase(dialect);

  const serve = async (webRoot: string) => {
    const queue = new TaskQueue(t.handle, DEFAULT_QUEUE_SETTINGS);
    const app = await buildServer({
      handle: t.handle,
      queue,
      logger: createLogger({ level: 'silent', pretty: false }),
      version: 'test',
      webRoot,
    });
    return { app, close: async () => (await app.close(), await queue.close()) };
  };

  it('serves index.html for app paths, files under /assets, and nothing outside web/dist', async () => {
    const root = path.join(t.dir, 'web-dist');
    fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>dash</title>');
    fs.writeFileSync(path.join(root, 'assets', 'app-1.js'), 'console.log(1)');
    fs.writeFileSync(path.join(t.dir, 'secret.txt'), 'TOP-SECRET-CONTENT');
    const { app, close } = await serve(root);
    try {
      for (const url of ['/', '/tasks', '/tasks/12', '/sessions/3', '/login']) {
        const response = await app.inject({ method: 'GET', url });
        expect(response.statusCode, url).toBe(200);
        expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
        expect(response.body).toContain('<title>dash</title>');
      }
      const js = await app.inject({ method: 'GET', url: '/assets/app-1.js' });
      expect(js.statusCode).toBe(200);
      expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
      for (const url of [
        '/assets/../../secret.txt',
        '/assets/..%2f..%2fsecret.txt',
        '/assets/%2e%2e/%2e%2e/secret.txt',
      ]) {
        const response = await app.inject({ method: 'GET', url });
        expect(response.statusCode, url).toBe(404);
        expect(response.body).not.toContain('TOP-SECRET-CONTENT');
      }
      const api = await app.inject({ method: 'GET', url: '/api/nothing-here' });
      expect(api.statusCode).toBe(401);
    } finally {
      await close();
    }
  });

  it('says how to build the dashboard when web/dist is missing', async () => {
    const { app, close } = await serve(path.join(t.dir, 'missing'));
    try {
      const response = await app.inject({ method: 'GET', url: '/' });
      expect(response.statusCode).toBe(503);
      expect(response.body).toContain('npm run build:web');
    } finally {
      await close();
    }
  });
});
