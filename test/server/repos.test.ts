/**
 * @module The repository routes on both engines: register, change the commands (`PATCH`), forget (`DELETE`), and the
 * refusals (viewer 403, unknown id 404, not a git repository 400, repository with a workflow 409) that change nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startStoryWorkflow } from '../../src/workflow/advance-workflow.js';
import { makeGitRepo } from '../support/agent-fixtures.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

describe.each(DIALECTS)('%s: repository routes', (dialect) => {
  const s = useTestServer(dialect);
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-repos-'));
  afterAll(() => fs.rmSync(parent, { recursive: true, force: true }));
  let n = 0;

  async function add(): Promise<{ id: number; name: string }> {
    const repo = makeGitRepo(parent, `repo-${++n}`);
    const response = await s.request({
      method: 'POST',
      url: '/api/repos',
      payload: { path: repo.path, test_command: 'npm test' },
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json() as { id: number; name: string };
  }

  it('changes the commands of a repository and forgets it', async () => {
    const { id } = await add();
    const patched = await s.request({
      method: 'PATCH',
      url: `/api/repos/${id}`,
      payload: { test_command: 'npx vitest run', lint_command: 'npx eslint .' },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ id, test_command: 'npx vitest run', lint_command: 'npx eslint .' });
    const cleared = await s.request({ method: 'PATCH', url: `/api/repos/${id}`, payload: { test_command: null } });
    expect(cleared.json()).toMatchObject({ test_command: null, lint_command: 'npx eslint .', merge_method: 'merge' });
    const squash = await s.request({ method: 'PATCH', url: `/api/repos/${id}`, payload: { merge_method: 'squash' } });
    expect(squash.json()).toMatchObject({ merge_method: 'squash', lint_command: 'npx eslint .' });
    const rebase = await s.request({ method: 'PATCH', url: `/api/repos/${id}`, payload: { merge_method: 'rebase' } });
    expect(rebase.statusCode).toBe(400);
    expect(errorOf(rebase).code).toBe('VALIDATION_FAILED');
    const back = await s.request({ method: 'PATCH', url: `/api/repos/${id}`, payload: { merge_method: null } });
    expect(back.json()).toMatchObject({ merge_method: 'merge' });
    const removed = await s.request({ method: 'DELETE', url: `/api/repos/${id}` });
    expect(removed.statusCode, removed.body).toBe(200);
    const list = await s.request({ method: 'GET', url: '/api/repos' });
    expect((list.json() as { repos: unknown[] }).repos).toEqual([]);
  });

  it('refuses a viewer (403), an unknown id (404), a non-git path (400) and a repository in use (409)', async () => {
    const { id } = await add();
    const viewer = await s.request({
      method: 'PATCH',
      url: `/api/repos/${id}`,
      payload: { test_command: 'x' },
      token: s.tokens.viewer,
    });
    expect(viewer.statusCode).toBe(403);
    expect((await s.request({ method: 'DELETE', url: `/api/repos/${id}`, token: s.tokens.approver })).statusCode).toBe(
      403,
    );
    const unknownPatch = await s.request({ method: 'PATCH', url: '/api/repos/9999', payload: { test_command: 'x' } });
    expect(unknownPatch.statusCode).toBe(404);
    expect(errorOf(unknownPatch).code).toBe('REPO_NOT_FOUND');
    expect((await s.request({ method: 'DELETE', url: '/api/repos/9999' })).statusCode).toBe(404);
    const plain = path.join(parent, 'not-git');
    fs.mkdirSync(plain, { recursive: true });
    const notGit = await s.request({ method: 'POST', url: '/api/repos', payload: { path: plain } });
    expect(notGit.statusCode).toBe(400);
    expect(errorOf(notGit).message).toMatch(/not a git repository/);

    await startStoryWorkflow(
      s.db.handle.db,
      { queue: s.queue, maxFixRounds: 3 },
      { title: 'Sum', body: 'b', repoId: id, createdBy: 'test' },
    );
    const inUse = await s.request({ method: 'DELETE', url: `/api/repos/${id}` });
    expect(inUse.statusCode).toBe(409);
    expect(errorOf(inUse).code).toBe('REPO_IN_USE');
    const list = await s.request({ method: 'GET', url: '/api/repos' });
    expect((list.json() as { repos: Array<{ id: number; test_command: string | null }> }).repos).toEqual([
      expect.objectContaining({ id, test_command: 'npm test' }),
    ]);
  });
});
