/**
 * @module The forge client contract for GitLab and GitHub, each against its stand-in (documented REST payloads, the
 * repository over real git HTTP, merges done with git): a fresh project per test, a clone made over HTTP with the
 * token only in git's environment, and `main` moved by someone else's push. Lists are capped at two a page so the
 * clients follow pagination throughout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { ForgeRepository } from '../../src/forge/forge-client.js';
import { GitHubClient } from '../../src/forge/github-client.js';
import { GitLabClient } from '../../src/forge/gitlab-client.js';
import { git } from '../../src/workspace/git.js';
import { branchSha } from '../support/forge-stand-in-http.js';
import { cloneForTest } from '../support/forge-clone.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';
import { describeForgeClientContract, type ForgeClientFixture } from './forge-client-contract.js';

const TOKEN = 'contract-token';
const REVIEWER_TOKEN = 'contract-reviewer-token';
let gitlab: GitLabStandIn;
let github: GitHubStandIn;
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remote-forge-contract-'));
  gitlab = await new GitLabStandIn({ maxPerPage: 2 }).start();
  gitlab.addUser(TOKEN, 'swarm-bot');
  github = await new GitHubStandIn({ maxPerPage: 2 }).start();
  github.addUser(TOKEN, 'swarm-bot');
  github.addUser(REVIEWER_TOKEN, 'octocat');
});
afterAll(async () => {
  await gitlab?.close();
  await github?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function branchIn(clone: string, branch: string, file: string, content: string): Promise<string> {
  await git(clone, ['checkout', '--quiet', '-b', branch, 'main']);
  fs.writeFileSync(path.join(clone, file), content);
  await git(clone, ['add', '-A']);
  await git(clone, ['commit', '--quiet', '-m', `change ${file} on ${branch}`], { asAutodev: true });
  const sha = (await git(clone, ['rev-parse', 'HEAD'])).stdout.trim();
  await git(clone, ['checkout', '--quiet', 'main']);
  return sha;
}

/** Someone else's push to `main`: a checkout of the bare repository on disk, committed and pushed there. */
async function moveMain(bare: string, file: string, content: string): Promise<string> {
  const other = fs.mkdtempSync(path.join(dir, 'other-'));
  await git(dir, ['clone', '--quiet', bare, other]);
  fs.writeFileSync(path.join(other, file), content);
  await git(other, ['add', '-A']);
  await git(other, ['commit', '--quiet', '-m', `main moves: ${file}`], { asAutodev: true });
  await git(other, ['push', '--quiet', 'origin', 'HEAD:refs/heads/main']);
  return (await git(other, ['rev-parse', 'HEAD'])).stdout.trim();
}

async function parentsIn(bare: string, sha: string): Promise<string[]> {
  return (await git(bare, ['rev-list', '--parents', '-n', '1', sha])).stdout.trim().split(' ').slice(1);
}

function repository(
  kind: 'gitlab' | 'github',
  project: string,
  clone: string,
  remoteUrl: string,
  baseUrl: string,
): ForgeRepository {
  return {
    id: ++n,
    name: project.split('/').at(-1) ?? project,
    kind,
    localPath: clone,
    remoteUrl,
    defaultBranch: 'main',
    mergeMethod: 'merge',
    settings: { forge_base_url: baseUrl, forge_project: project, forge_token_env: 'FORGE_TOKEN' },
  };
}

describeForgeClientContract('GitLab (stand-in, self-hosted base URL)', async (): Promise<ForgeClientFixture> => {
  const project = `contract/app-${++n}`;
  const state = await gitlab.createProject(project, { epics: n % 2 === 0 });
  const clone = await cloneForTest(gitlab.remoteUrl(project), TOKEN, path.join(dir, project));
  const repo = repository('gitlab', project, clone, gitlab.remoteUrl(project), gitlab.url);
  return {
    client: new GitLabClient(repo, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } }),
    branchInClone: (branch, file, content) => branchIn(clone, branch, file, content),
    moveDefaultBranch: (file, content) => moveMain(state.bare, file, content),
    defaultBranchHead: async () => (await branchSha(state.bare, 'main'))!,
    parentsOf: (sha) => parentsIn(state.bare, sha),
    cleanup: async () => undefined,
  };
});

describeForgeClientContract('GitHub (stand-in)', async (): Promise<ForgeClientFixture> => {
  const project = `contract/web-${++n}`;
  const state = await github.createRepo(project);
  const clone = await cloneForTest(github.remoteUrl(project), TOKEN, path.join(dir, project));
  const repo = repository('github', project, clone, github.remoteUrl(project), github.url);
  return {
    client: new GitHubClient(repo, { dataDir: dir, env: { FORGE_TOKEN: TOKEN } }),
    approver: new GitHubClient(repo, { dataDir: dir, env: { FORGE_TOKEN: REVIEWER_TOKEN } }),
    branchInClone: (branch, file, content) => branchIn(clone, branch, file, content),
    moveDefaultBranch: (file, content) => moveMain(state.bare, file, content),
    defaultBranchHead: async () => (await branchSha(state.bare, 'main'))!,
    parentsOf: (sha) => parentsIn(state.bare, sha),
    cleanup: async () => undefined,
  };
});
