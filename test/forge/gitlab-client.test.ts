import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ForgeRepository } from '../../src/forge/forge-client.js';
import { DEFAULT_BACKOFF } from '../../src/forge/forge-http-policy.js';
import { GitLabClient } from '../../src/forge/gitlab-client.js';
import { expectCode } from '../support/expect-error.js';
import { cloneForTest, commitOnBranch } from '../support/forge-clone.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';

const TOKEN = 'glpat-swarm-bot';
const READ_ONLY = 'glpat-read-only';
const REVIEWER = 'glpat-human-reviewer';
let gitlab: GitLabStandIn;
let dir: string;

function repository(project: string, clone: string, overrides: Partial<ForgeRepository> = {}): ForgeRepository {
  return {
    id: 1,
    name: project.split('/').at(-1) ?? project,
    kind: 'gitlab',
    localPath: clone,
    remoteUrl: gitlab.remoteUrl(project),
    defaultBranch: 'main',
    mergeMethod: 'merge',
    settings: { forge_base_url: gitlab.url, forge_project: project, forge_token_env: 'GITLAB_TOKEN' },
    ...overrides,
  };
}

function client(repo: ForgeRepository, token = TOKEN, backoff = DEFAULT_BACKOFF): GitLabClient {
  return new GitLabClient(repo, { dataDir: dir, env: { GITLAB_TOKEN: token } }, { backoff });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gitlab-client-'));
  // Two items a page: every list the client reads must follow x-next-page / Link.
  gitlab = await new GitLabStandIn({ maxPerPage: 2 }).start();
  gitlab.addUser(TOKEN, 'swarm-bot', ['api']);
  gitlab.addUser(READ_ONLY, 'reader', ['read_api']);
  gitlab.addUser(REVIEWER, 'alice', ['api']);
  await gitlab.createProject('acme/platform/app', { epics: true });
  await gitlab.createProject('solo/tool', { epics: false });
});
afterAll(async () => {
  await gitlab.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('GitLab client against the GitLab stand-in (real git HTTP, documented REST payloads)', () => {
  it('pushes a branch, opens and refreshes a merge request, diffs, comments, approves and merges it', async () => {
    const clone = await cloneForTest(gitlab.remoteUrl('acme/platform/app'), TOKEN, path.join(dir, 'app'));
    const repo = repository('acme/platform/app', clone);
    const forge = client(repo);
    const head = await commitOnBranch(clone, 'autodev/story-1', { 'src/a.ts': 'export const a = 1;\n' }, 'Add a');
    expect(await forge.pushBranch('autodev/story-1')).toEqual({ sha: head });
    expect(fs.readFileSync(path.join(clone, '.git', 'config'), 'utf8')).not.toContain(TOKEN);

    const opened = await forge.openMergeRequest({ sourceBranch: 'autodev/story-1', title: 'Add a', description: 'd' });
    expect(opened).toMatchObject({
      externalId: '1',
      sourceBranch: 'autodev/story-1',
      targetBranch: 'main',
      state: 'open',
      headSha: head,
    });
    const again = await forge.openMergeRequest({
      sourceBranch: 'autodev/story-1',
      title: 'Add a (v2)',
      description: 'd2',
    });
    expect(again.externalId).toBe('1');
    expect(gitlab.project('acme/platform/app').mergeRequests).toHaveLength(1);
    expect(gitlab.project('acme/platform/app').mergeRequests[0]?.title).toBe('Add a (v2)');

    expect(await forge.diff('1')).toContain('+export const a = 1;');
    await forge.addNote('1', 'Tests passed');
    await forge.addLineComment('1', { path: 'src/a.ts', line: 1, headSha: head, body: 'name it better' });
    const notes = gitlab.project('acme/platform/app').mergeRequests[0]?.notes ?? [];
    expect(notes.map((n) => n.body)).toEqual(['Tests passed', 'name it better']);
    expect(notes[1]?.position).toEqual({ new_path: 'src/a.ts', new_line: 1, head_sha: head });

    await client(repo, REVIEWER).approve('1');
    await client(repo, REVIEWER).approve('1');
    expect(await forge.listApprovals('1')).toEqual(['alice']);

    const target = opened.targetSha;
    const merged = await forge.merge('1', {
      expectedHeadSha: head,
      expectedTargetSha: target,
      method: 'merge',
      title: 'Add a (merge request 1)',
    });
    expect(merged).toMatchObject({ status: 'merged', recovered: false });
    const again2 = await forge.merge('1', {
      expectedHeadSha: head,
      expectedTargetSha: target,
      method: 'merge',
      title: 'Add a (merge request 1)',
    });
    expect(again2).toEqual({ status: 'merged', sha: merged.status === 'merged' ? merged.sha : '', recovered: true });
    expect((await forge.getMergeRequest('1'))?.state).toBe('merged');
    expect(await forge.getMergeRequest('99')).toBeNull();
  });

  it('refuses a merge when the source or the target moved since the gates ran, and squashes by request', async () => {
    const clone = path.join(dir, 'app');
    const repo = repository('acme/platform/app', clone);
    const forge = client(repo);
    const head = await commitOnBranch(clone, 'autodev/story-2', { 'b.txt': 'b\n' }, 'Add b');
    await forge.pushBranch('autodev/story-2');
    const mr = await forge.openMergeRequest({ sourceBranch: 'autodev/story-2', title: 'Add b', description: '' });
    const moved = await forge.merge(mr.externalId, {
      expectedHeadSha: '0'.repeat(40),
      expectedTargetSha: mr.targetSha,
      method: 'merge',
      title: 't',
    });
    expect(moved).toMatchObject({ status: 'refused', rerunGates: true });
    const targetMoved = await forge.merge(mr.externalId, {
      expectedHeadSha: head,
      expectedTargetSha: '1'.repeat(40),
      method: 'merge',
      title: 't',
    });
    expect(targetMoved).toMatchObject({ status: 'refused', rerunGates: true });
    const squashed = await forge.merge(mr.externalId, {
      expectedHeadSha: head,
      expectedTargetSha: mr.targetSha,
      method: 'squash',
      title: 'Add b (merge request 2)',
      squashReason: 'a commit held a secret',
    });
    expect(squashed.status).toBe('merged');
    const state = gitlab.project('acme/platform/app').mergeRequests.find((m) => m.iid === Number(mr.externalId));
    expect(state?.squashCommitSha).toBe(squashed.status === 'merged' ? squashed.sha : null);
  });

  it('refuses a squash on a project that never squashes (GitLab would merge unsquashed), and merges there otherwise', async () => {
    await gitlab.createProject('acme/no-squash', { squashOption: 'never' });
    const clone = await cloneForTest(gitlab.remoteUrl('acme/no-squash'), TOKEN, path.join(dir, 'no-squash'));
    const forge = client(repository('acme/no-squash', clone));
    const head = await commitOnBranch(clone, 'autodev/3-secret', { 's.txt': 'was a secret\n' }, 'Add s');
    await forge.pushBranch('autodev/3-secret');
    const mr = await forge.openMergeRequest({ sourceBranch: 'autodev/3-secret', title: 'Add s', description: '' });
    const input = { expectedHeadSha: head, expectedTargetSha: mr.targetSha, title: 'Add s (merge request 3)' };
    const refused = await forge.merge(mr.externalId, {
      ...input,
      method: 'merge',
      squashReason: 'an earlier commit held a secret',
    });
    expect(refused).toMatchObject({ status: 'refused', rerunGates: false });
    expect(refused.status === 'refused' ? refused.reason : '').toMatch(/squash_option "never".*held a secret/);
    expect(gitlab.project('acme/no-squash').mergeRequests[0]?.state).toBe('opened');
    const merged = await forge.merge(mr.externalId, { ...input, method: 'merge' });
    expect(merged.status).toBe('merged');
  });

  it('reads the newest pipeline of a commit with all its jobs (paged) and a job trace', async () => {
    const forge = client(repository('acme/platform/app', path.join(dir, 'app')));
    const sha = 'a'.repeat(40);
    expect(await forge.pipeline(sha)).toEqual({ sha, status: 'none', url: null, jobs: [] });
    gitlab.addPipeline('acme/platform/app', sha, 'running', [{ name: 'old', status: 'running' }]);
    const { jobIds } = gitlab.addPipeline('acme/platform/app', sha, 'failed', [
      { name: 'lint', status: 'success' },
      { name: 'unit', status: 'failed', trace: 'FAIL test/a.test.ts\n' },
      { name: 'e2e', status: 'canceled' },
    ]);
    const pipeline = await forge.pipeline(sha);
    expect(pipeline.status).toBe('failed');
    expect(pipeline.jobs.map((j) => [j.name, j.status])).toEqual([
      ['lint', 'success'],
      ['unit', 'failed'],
      ['e2e', 'canceled'],
    ]);
    expect(await forge.jobLog(String(jobIds[1]))).toBe('FAIL test/a.test.ts\n');
  });

  it('creates issues with labels, a group epic with linked stories, and a parent issue where the group has no epics', async () => {
    const forge = client(repository('acme/platform/app', path.join(dir, 'app')));
    const epic = await forge.createEpic({ title: 'Checkout', body: 'epic', labels: ['epic'] });
    expect(epic.kind).toBe('epic');
    const story = await forge.createIssue({ title: 'Pay by card', body: 'As a buyer...', labels: ['story', 'swarm'] });
    await forge.linkToEpic(epic, story.externalId);
    await forge.setLabels(story.externalId, ['story', 'priority::1']);
    const issue = gitlab.project('acme/platform/app').issues.find((i) => String(i.iid) === story.externalId);
    expect(issue?.labels).toEqual(['story', 'priority::1']);
    expect(issue?.epicIid).toBe(Number(epic.externalId));
    expect(gitlab.epics('acme/platform')[0]?.title).toBe('Checkout');

    const soloClone = await cloneForTest(gitlab.remoteUrl('solo/tool'), TOKEN, path.join(dir, 'tool'));
    const solo = client(repository('solo/tool', soloClone));
    const parent = await solo.createEpic({ title: 'Parent', body: '', labels: [] });
    expect(parent.kind).toBe('parent_issue');
    const child = await solo.createIssue({ title: 'Child', body: '', labels: [] });
    await solo.linkToEpic(parent, child.externalId);
    await solo.linkToEpic(parent, child.externalId);
    expect(gitlab.project('solo/tool').issues.find((i) => String(i.iid) === parent.externalId)?.links).toEqual([
      Number(child.externalId),
    ]);
  });

  it('turns 401, 403 (naming the missing scope), 404 and 409 into errors naming the repository', async () => {
    const repo = repository('acme/platform/app', path.join(dir, 'app'));
    const bad = await expectCode(client(repo, 'revoked').getMergeRequest('1'), 'FORGE_AUTH_FAILED');
    expect(bad.message).toContain('repository "app"');
    expect(bad.message).toContain('GITLAB_TOKEN');
    const readOnly = await expectCode(client(repo, READ_ONLY).addNote('1', 'x'), 'FORGE_AUTH_FAILED');
    expect(readOnly.message).toMatch(/lacks the api scope/);
    const missing = await expectCode(
      client(repository('acme/nope', path.join(dir, 'app'))).diff('1'),
      'FORGE_NOT_FOUND',
    );
    expect(missing.message).toContain('repository "nope"');
    gitlab.inject({ method: 'POST', path: /\/issues$/, status: 409, times: 1, body: { message: 'conflict' } });
    const conflict = await expectCode(client(repo).createIssue({ title: 't', body: '', labels: [] }), 'FORGE_CONFLICT');
    expect(conflict.message).toContain('repository "app"');
    const noToken = new GitLabClient(repo, { dataDir: dir, env: {} });
    const unset = await expectCode(noToken.getMergeRequest('1'), 'FORGE_AUTH_FAILED');
    expect(unset.message).toContain('GITLAB_TOKEN');
  });

  it('waits out a 429 as Retry-After and RateLimit-Reset ask, and gives up when asked to wait too long', async () => {
    const repo = repository('acme/platform/app', path.join(dir, 'app'));
    // Real time once: the retry reaches the stand-in no sooner than Retry-After said.
    gitlab.inject({
      method: 'GET',
      path: /\/merge_requests\/1$/,
      status: 429,
      times: 1,
      headers: { 'retry-after': '1' },
    });
    const before = gitlab.server.requests.length;
    expect((await client(repo).getMergeRequest('1'))?.state).toBe('merged');
    const seen = gitlab.server.requests.slice(before).filter((r) => r.path.endsWith('/merge_requests/1'));
    expect(seen.map((r) => r.status)).toEqual([429, 200]);
    expect((seen[1]?.at ?? 0) - (seen[0]?.at ?? 0)).toBeGreaterThanOrEqual(1000);

    const waits: number[] = [];
    const backoff = {
      ...DEFAULT_BACKOFF,
      sleep: (ms: number) => {
        waits.push(ms);
        return Promise.resolve();
      },
    };
    const reset = Math.floor(Date.now() / 1000) + 3;
    gitlab.inject({
      method: 'GET',
      path: /\/merge_requests\/1$/,
      status: 429,
      times: 1,
      headers: { 'ratelimit-reset': String(reset) },
    });
    expect((await client(repo, TOKEN, backoff).getMergeRequest('1'))?.state).toBe('merged');
    expect(waits[0]).toBeGreaterThan(1500);
    expect(waits[0]).toBeLessThanOrEqual(3000);

    gitlab.inject({
      method: 'GET',
      path: /\/merge_requests\/1$/,
      status: 429,
      times: 1,
      headers: { 'retry-after': '3600' },
    });
    const limited = await expectCode(client(repo, TOKEN, backoff).getMergeRequest('1'), 'FORGE_RATE_LIMITED');
    expect(limited.message).toContain('repository "app"');
  });
});
