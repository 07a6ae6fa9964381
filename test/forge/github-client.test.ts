import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ForgeRepository } from '../../src/forge/forge-client.js';
import { gitCredentialEnv } from '../../src/forge/git-credential-env.js';
import { DEFAULT_BACKOFF } from '../../src/forge/forge-http-policy.js';
import { GitHubClient } from '../../src/forge/github-client.js';
import { git } from '../../src/workspace/git.js';
import { expectCode } from '../support/expect-error.js';
import { cloneForTest, commitOnBranch } from '../support/forge-clone.js';
import { GitHubStandIn } from '../support/github-stand-in.js';

const TOKEN = 'ghp_swarm_bot';
const READ_ONLY = 'github_pat_read_only';
const REVIEWER = 'ghp_human_reviewer';
const SECOND_REVIEWER = 'ghp_second_reviewer';
let github: GitHubStandIn;
let dir: string;

function repository(fullName: string, clone: string): ForgeRepository {
  return {
    id: 2,
    name: fullName.split('/')[1] ?? fullName,
    kind: 'github',
    localPath: clone,
    remoteUrl: github.remoteUrl(fullName),
    defaultBranch: 'main',
    mergeMethod: 'merge',
    settings: { forge_base_url: github.url, forge_project: fullName, forge_token_env: 'GITHUB_TOKEN' },
  };
}

function client(repo: ForgeRepository, token = TOKEN, backoff = DEFAULT_BACKOFF): GitHubClient {
  return new GitHubClient(repo, { dataDir: dir, env: { GITHUB_TOKEN: token } }, { backoff });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'github-client-'));
  // Two items a page: every list the client reads must follow Link rel="next".
  github = await new GitHubStandIn({ maxPerPage: 2 }).start();
  github.addUser(TOKEN, 'swarm-bot', ['repo']);
  github.addUser(READ_ONLY, 'reader', ['read']);
  github.addUser(REVIEWER, 'octocat', ['repo']);
  github.addUser(SECOND_REVIEWER, 'hubot', ['repo']);
  await github.createRepo('acme/web');
});
afterAll(async () => {
  await github.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('GitHub client against the GitHub stand-in (real git HTTP, documented REST payloads)', () => {
  it('pushes a branch, opens and refreshes a pull request, diffs, comments, reviews and merges it', async () => {
    const clone = await cloneForTest(github.remoteUrl('acme/web'), TOKEN, path.join(dir, 'web'));
    const repo = repository('acme/web', clone);
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
    expect(github.repo('acme/web').pulls.map((p) => p.title)).toEqual(['Add a (v2)']);

    expect(await forge.diff('1')).toContain('+export const a = 1;');
    await forge.addNote('1', 'Tests passed');
    await forge.addLineComment('1', { path: 'src/a.ts', line: 1, headSha: head, body: 'name it better' });
    const pull = github.repo('acme/web').pulls[0];
    expect(pull?.comments.map((c) => c.body)).toEqual(['Tests passed']);
    expect(pull?.reviewComments.map((c) => [c.path, c.line, c.commitId, c.body])).toEqual([
      ['src/a.ts', 1, head, 'name it better'],
    ]);

    // Reviews over two pages: octocat approved, hubot approved twice; the author's own approval is refused (422), as
    // GitHub refuses it.
    await client(repo, REVIEWER).approve('1');
    await forge.addNote('1', 'x');
    const own = await expectCode(forge.approve('1'), 'FORGE_REQUEST_FAILED');
    expect(own.message).toContain('HTTP 422');
    await client(repo, SECOND_REVIEWER).approve('1');
    await client(repo, SECOND_REVIEWER).approve('1');
    expect((await forge.listApprovals('1')).sort()).toEqual(['hubot', 'octocat']);

    const merged = await forge.merge('1', {
      expectedHeadSha: head,
      expectedTargetSha: opened.targetSha,
      method: 'merge',
      title: 'Add a (merge request 1)',
    });
    expect(merged).toMatchObject({ status: 'merged', recovered: false });
    const retried = await forge.merge('1', {
      expectedHeadSha: head,
      expectedTargetSha: opened.targetSha,
      method: 'merge',
      title: 'Add a (merge request 1)',
    });
    expect(retried).toEqual({ status: 'merged', sha: merged.status === 'merged' ? merged.sha : '', recovered: true });
    expect((await forge.getMergeRequest('1'))?.state).toBe('merged');
    expect(await forge.getMergeRequest('99')).toBeNull();
  });

  it('refuses a merge when the source or the target moved since the gates ran, and squashes by request', async () => {
    const clone = path.join(dir, 'web');
    const forge = client(repository('acme/web', clone));
    const head = await commitOnBranch(clone, 'autodev/story-2', { 'b.txt': 'b\n' }, 'Add b');
    await forge.pushBranch('autodev/story-2');
    const pr = await forge.openMergeRequest({ sourceBranch: 'autodev/story-2', title: 'Add b', description: '' });
    expect(
      await forge.merge(pr.externalId, {
        expectedHeadSha: '0'.repeat(40),
        expectedTargetSha: pr.targetSha,
        method: 'merge',
        title: 't',
      }),
    ).toMatchObject({ status: 'refused', rerunGates: true });
    expect(
      await forge.merge(pr.externalId, {
        expectedHeadSha: head,
        expectedTargetSha: '1'.repeat(40),
        method: 'merge',
        title: 't',
      }),
    ).toMatchObject({ status: 'refused', rerunGates: true });
    const squashed = await forge.merge(pr.externalId, {
      expectedHeadSha: head,
      expectedTargetSha: pr.targetSha,
      method: 'squash',
      title: 'Add b (merge request 2)',
    });
    expect(squashed.status).toBe('merged');
    const log = await cloneLog(clone);
    expect(log).toContain('Add b (merge request 2)');
  });

  it('refuses, merging nothing, a merge method the repository does not allow', async () => {
    await github.createRepo('acme/squash-off', { allowSquashMerge: false });
    const clone = await cloneForTest(github.remoteUrl('acme/squash-off'), TOKEN, path.join(dir, 'squash-off'));
    const forge = client(repository('acme/squash-off', clone));
    const head = await commitOnBranch(clone, 'autodev/4-secret', { 's.txt': 'was a secret\n' }, 'Add s');
    await forge.pushBranch('autodev/4-secret');
    const mr = await forge.openMergeRequest({ sourceBranch: 'autodev/4-secret', title: 'Add s', description: '' });
    const refused = await forge.merge(mr.externalId, {
      expectedHeadSha: head,
      expectedTargetSha: mr.targetSha,
      method: 'merge',
      title: 'Add s (merge request 4)',
      squashReason: 'an earlier commit held a secret',
    });
    expect(refused).toMatchObject({ status: 'refused', rerunGates: false });
    expect(refused.status === 'refused' ? refused.reason : '').toMatch(/Squash merges are not allowed/);
    expect(github.repo('acme/squash-off').pulls[0]).toMatchObject({ merged: false, state: 'open' });
  });

  it('reads the check runs of a commit (paged), their overall status, the workflow run and a job log', async () => {
    const forge = client(repository('acme/web', path.join(dir, 'web')));
    const sha = 'c'.repeat(40);
    expect(await forge.pipeline(sha)).toEqual({ sha, status: 'none', url: null, jobs: [] });
    const { ids } = github.addChecks('acme/web', sha, [
      { name: 'lint', status: 'completed', conclusion: 'success' },
      { name: 'unit', status: 'completed', conclusion: 'failure', log: 'FAIL test/a.test.ts\n' },
      { name: 'e2e', status: 'in_progress' },
    ]);
    const pipeline = await forge.pipeline(sha);
    expect(pipeline.status).toBe('failed');
    expect(pipeline.url).toMatch(/\/actions\/runs\/\d+$/);
    expect(pipeline.jobs.map((j) => [j.name, j.status])).toEqual([
      ['lint', 'success'],
      ['unit', 'failed'],
      ['e2e', 'running'],
    ]);
    expect(await forge.jobLog(String(ids[1]))).toBe('FAIL test/a.test.ts\n');
  });

  it('creates issues with labels and an epic issue with sub-issues', async () => {
    const forge = client(repository('acme/web', path.join(dir, 'web')));
    const epic = await forge.createEpic({ title: 'Checkout', body: 'epic', labels: ['epic'] });
    expect(epic.kind).toBe('epic');
    const story = await forge.createIssue({ title: 'Pay by card', body: 'As a buyer...', labels: ['story'] });
    await forge.linkToEpic(epic, story.externalId);
    await forge.linkToEpic(epic, story.externalId);
    await forge.setLabels(story.externalId, ['story', 'priority:1']);
    const issues = github.repo('acme/web').issues;
    const storyIssue = issues.find((i) => String(i.number) === story.externalId);
    expect(storyIssue?.labels).toEqual(['story', 'priority:1']);
    expect(issues.find((i) => String(i.number) === epic.externalId)?.subIssueIds).toEqual([storyIssue?.id]);
  });

  it('turns 401, 403 (naming the accepted scope), 404 and 409 into errors naming the repository', async () => {
    const repo = repository('acme/web', path.join(dir, 'web'));
    const bad = await expectCode(client(repo, 'revoked').getMergeRequest('1'), 'FORGE_AUTH_FAILED');
    expect(bad.message).toContain('repository "web"');
    expect(bad.message).toContain('GITHUB_TOKEN');
    const readOnly = await expectCode(client(repo, READ_ONLY).addNote('1', 'x'), 'FORGE_AUTH_FAILED');
    expect(readOnly.message).toMatch(/lacks the repo scope/);
    const missing = await expectCode(
      client(repository('acme/nope', path.join(dir, 'web'))).diff('1'),
      'FORGE_NOT_FOUND',
    );
    expect(missing.message).toContain('repository "nope"');
    github.inject({ method: 'POST', path: /\/issues$/, status: 409, times: 1, body: { message: 'Conflict' } });
    const conflict = await expectCode(client(repo).createIssue({ title: 't', body: '', labels: [] }), 'FORGE_CONFLICT');
    expect(conflict.message).toContain('repository "web"');
    const unset = await expectCode(
      new GitHubClient(repo, { dataDir: dir, env: {} }).getMergeRequest('1'),
      'FORGE_AUTH_FAILED',
    );
    expect(unset.message).toContain('GITHUB_TOKEN');
  });

  it('waits out 429 retry-after and a 403 with x-ratelimit-remaining 0 until x-ratelimit-reset, and gives up when asked to wait too long', async () => {
    const repo = repository('acme/web', path.join(dir, 'web'));
    github.inject({ method: 'GET', path: /\/pulls\/1$/, status: 429, times: 1, headers: { 'retry-after': '1' } });
    const before = github.server.requests.length;
    expect((await client(repo).getMergeRequest('1'))?.state).toBe('merged');
    const seen = github.server.requests.slice(before).filter((r) => r.path.endsWith('/pulls/1'));
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
    github.inject({
      method: 'GET',
      path: /\/pulls\/1$/,
      status: 403,
      times: 1,
      headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
      body: { message: 'API rate limit exceeded' },
    });
    expect((await client(repo, TOKEN, backoff).getMergeRequest('1'))?.state).toBe('merged');
    expect(waits[0]).toBeGreaterThan(1500);
    expect(waits[0]).toBeLessThanOrEqual(3000);

    github.inject({ method: 'GET', path: /\/pulls\/1$/, status: 429, times: 1, headers: { 'retry-after': '3600' } });
    const limited = await expectCode(client(repo, TOKEN, backoff).getMergeRequest('1'), 'FORGE_RATE_LIMITED');
    expect(limited.message).toContain('repository "web"');
  });
});

async function cloneLog(clone: string): Promise<string> {
  const remote = github.remoteUrl('acme/web');
  await git(clone, ['fetch', '-q', remote, 'main'], {
    env: { ...process.env, ...gitCredentialEnv(remote, TOKEN, 'x') },
  });
  return (await git(clone, ['log', '--format=%s', 'FETCH_HEAD'])).stdout;
}
