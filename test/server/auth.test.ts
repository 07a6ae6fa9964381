import { describe, expect, it } from 'vitest';
import { hashToken } from '../../src/server/api-tokens.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

describe.each(DIALECTS)('%s: authentication and roles', (dialect) => {
  const s = useTestServer(dialect);

  it('answers 401 without an Authorization header, saying how to get a token without naming a server path', async () => {
    const response = await s.request({ method: 'GET', url: '/api/tasks', token: null });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(errorOf(response).code).toBe('UNAUTHORIZED');
    expect(errorOf(response).message).toContain('admin-token');
    expect(errorOf(response).message).not.toContain(s.db.dir);
  });

  it('answers 401 for a wrong token', async () => {
    const response = await s.request({ method: 'GET', url: '/api/tasks', token: 'not-a-real-token' });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response).code).toBe('UNAUTHORIZED');
  });

  it('answers 401 for another scheme', async () => {
    const response = await s.request({
      method: 'GET',
      url: '/api/tasks',
      token: null,
      headers: { authorization: `Basic ${s.tokens.admin}` },
    });
    expect(response.statusCode).toBe(401);
  });

  it('answers 401 for a revoked token', async () => {
    await s.db.handle.db
      .updateTable('api_tokens')
      .set({ revoked_at: Date.now() })
      .where('token_hash', '=', hashToken(s.tokens.viewer))
      .execute();
    const response = await s.request({ method: 'GET', url: '/api/tasks', token: s.tokens.viewer });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response).code).toBe('UNAUTHORIZED');
  });

  it('accepts the scheme in any case', async () => {
    const response = await s.request({
      method: 'GET',
      url: '/api/tasks',
      token: null,
      headers: { authorization: `bearer ${s.tokens.viewer}` },
    });
    expect(response.statusCode).toBe(200);
  });

  it('lets a viewer read', async () => {
    const task = await s.queue.enqueue({ type: 'deploy', createdBy: 'test' });
    for (const url of ['/api/tasks', `/api/tasks/${task.id}`, '/api/tasks/counts']) {
      const response = await s.request({ method: 'GET', url, token: s.tokens.viewer });
      expect(response.statusCode, url).toBe(200);
    }
  });

  it('answers 403 to a viewer creating a task, and writes nothing', async () => {
    const before = await s.rowCounts();
    const response = await s.request({
      method: 'POST',
      url: '/api/tasks',
      payload: { type: 'deploy' },
      token: s.tokens.viewer,
    });
    expect(response.statusCode).toBe(403);
    expect(errorOf(response)).toEqual({
      code: 'FORBIDDEN',
      message: 'token "grafana" has role viewer; this needs approver or admin',
    });
    expect(await s.rowCounts()).toEqual(before);
  });

  it('answers 403 to a viewer cancelling or retrying, and changes nothing', async () => {
    const pending = await s.queue.enqueue({ type: 'deploy', createdBy: 'test' });
    const cancelled = await s.queue.enqueue({ type: 'deploy', createdBy: 'test' });
    await s.queue.cancel(cancelled.id, 'test');
    const before = await s.rowCounts();
    const cancel = await s.request({ method: 'POST', url: `/api/tasks/${pending.id}/cancel`, token: s.tokens.viewer });
    const retry = await s.request({ method: 'POST', url: `/api/tasks/${cancelled.id}/retry`, token: s.tokens.viewer });
    expect([cancel.statusCode, retry.statusCode]).toEqual([403, 403]);
    expect([errorOf(cancel).code, errorOf(retry).code]).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    expect((await s.queue.get(pending.id)).status).toBe('pending');
    expect((await s.queue.get(cancelled.id)).status).toBe('cancelled');
    expect(await s.rowCounts()).toEqual(before);
  });

  it('refuses a viewer before reading the body', async () => {
    const response = await s.request({
      method: 'POST',
      url: '/api/tasks',
      payload: `{"type":"deploy","payload":{"x":"${'a'.repeat(2 * 1024 * 1024)}"}}`,
      headers: { 'content-type': 'application/json' },
      token: s.tokens.viewer,
    });
    expect(response.statusCode).toBe(403);
  });

  it('lets an approver create, cancel and retry', async () => {
    const created = await s.request({
      method: 'POST',
      url: '/api/tasks',
      payload: { type: 'deploy' },
      token: s.tokens.approver,
    });
    expect(created.statusCode).toBe(201);
    const id = (created.json() as { id: number }).id;
    const cancel = await s.request({ method: 'POST', url: `/api/tasks/${id}/cancel`, token: s.tokens.approver });
    const retry = await s.request({ method: 'POST', url: `/api/tasks/${id}/retry`, token: s.tokens.approver });
    expect([cancel.statusCode, retry.statusCode]).toEqual([200, 200]);
  });

  it('asks for a token before saying an /api route does not exist', async () => {
    const anonymous = await s.request({ method: 'GET', url: '/api/secret-admin-thing', token: null });
    expect(anonymous.statusCode).toBe(401);
    const known = await s.request({ method: 'GET', url: '/api/secret-admin-thing', token: s.tokens.viewer });
    expect(known.statusCode).toBe(404);
    expect(errorOf(known).code).toBe('NOT_FOUND');
  });

  it('serves /health, /metrics and /api/openapi.json without a token', async () => {
    for (const url of ['/health', '/metrics', '/api/openapi.json']) {
      const response = await s.request({ method: 'GET', url, token: null });
      expect(response.statusCode, url).toBe(200);
    }
  });
});
