/**
 * @module The repository and story routes on both engines: register a real git repository, start a story at the PM,
 * show it; bad input answers 4xx and writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';
import { DIALECTS } from '../support/dialects.js';
import { errorOf, useTestServer } from './test-server.js';

describe.each(DIALECTS)('%s: repo and story routes', (dialect) => {
  const s = useTestServer(dialect);
  let repo: TestRepo;
  beforeAll(async () => {
    repo = await makeRepo();
  });
  afterAll(async () => {
    await repo.cleanup();
  });

  const addRepo = () =>
    s.request({
      method: 'POST',
      url: '/api/repos',
      payload: { path: repo.repo, name: 'sample', test_command: 'npm test' },
    });

  it('registers a repository and starts a story at the PM', async () => {
    const added = await addRepo();
    expect(added.statusCode, added.body).toBe(201);
    expect(added.json()).toMatchObject({
      name: 'sample',
      default_branch: 'main',
      test_command: 'npm test',
      forge: 'local',
    });
    const listed = await s.request({ method: 'GET', url: '/api/repos', token: s.tokens.viewer });
    expect((listed.json() as { repos: unknown[] }).repos).toHaveLength(1);

    const created = await s.request({
      method: 'POST',
      url: '/api/stories',
      token: s.tokens.approver,
      payload: { repo: 'sample', title: 'Add sum', body: 'Sum two numbers' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const story = created.json() as { id: number; stage: string; status: string };
    expect(story).toMatchObject({ stage: 'story', status: 'running', created_by: 'api:release-bot' });
    const shown = await s.request({ method: 'GET', url: `/api/stories/${story.id}` });
    expect(shown.json()).toMatchObject({
      id: story.id,
      tasks: [expect.objectContaining({ type: 'create_user_story', status: 'pending', workflow_id: story.id })],
      approvals: [],
    });
    const list = await s.request({ method: 'GET', url: '/api/stories' });
    expect((list.json() as { stories: unknown[] }).stories).toHaveLength(1);
  });

  it('refuses bad input with a clear 4xx and writes nothing', async () => {
    const before = await s.rowCounts();
    const viewer = await s.request({
      method: 'POST',
      url: '/api/repos',
      token: s.tokens.viewer,
      payload: { path: repo.repo },
    });
    expect(viewer.statusCode).toBe(403);
    const relative = await s.request({ method: 'POST', url: '/api/repos', payload: { path: 'repo' } });
    expect(relative.statusCode).toBe(400);
    const notGit = await s.request({ method: 'POST', url: '/api/repos', payload: { path: repo.root } });
    expect(errorOf(notGit).code).toBe('VALIDATION_FAILED');
    expect(notGit.json()).toMatchObject({ error: { message: expect.stringContaining('not a git repository') } });
    const noRepo = await s.request({ method: 'POST', url: '/api/stories', payload: { repo: 'nope', title: 'x' } });
    expect(noRepo.statusCode).toBe(404);
    expect(errorOf(noRepo).code).toBe('REPO_NOT_FOUND');
    expect(await s.rowCounts()).toEqual(before);
    expect((await addRepo()).statusCode).toBe(201);
    const afterAdd = await s.rowCounts();
    const twice = await addRepo();
    expect(twice.statusCode).toBe(409);
    expect(errorOf(twice).code).toBe('REPO_EXISTS');
    const noTitle = await s.request({ method: 'POST', url: '/api/stories', payload: { repo: 'sample', title: '  ' } });
    expect(noTitle.statusCode).toBe(400);
    const unknownStory = await s.request({ method: 'GET', url: '/api/stories/424242' });
    expect(unknownStory.statusCode).toBe(404);
    expect(await s.rowCounts()).toEqual(afterAdd);
  });
});
