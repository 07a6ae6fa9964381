/**
 * @module The contract every product-repository creator passes (`forge/create-remote-project.ts`): local (a git
 * repository under `<data-dir>/projects/`), GitLab (stand-in: `POST /projects`, in a group by `namespace_id` and in
 * the token's user namespace) and GitHub (stand-in: `POST /user/repos` and `POST /orgs/{org}/repos`). A project is
 * made empty and gets one first commit on `main`; a retry with the same marker finds both (no second project, no
 * second commit); a project of that name Auto-Dev did not make (no marker, or another project's) is
 * `PROJECT_REPO_TAKEN` and nothing is made or pushed. On the stand-ins, the race of a look that misses a twin's project
 * (a 404 injected) with a create refused as taken ends in the twin's project, or PROJECT_REPO_TAKEN when it is not
 * ours. No database is involved: nothing here writes a row.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  projectMarker,
  projectRepositoryCreator,
  type ProjectForgeSettings,
  type ProjectRepository,
  type ProjectRepositoryCreator,
} from '../../src/forge/create-remote-project.js';
import { git } from '../../src/workspace/git.js';
import { expectCode } from '../support/expect-error.js';
import { bareGit } from '../support/forge-stand-in-http.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';

const TOKEN = 'creator-token-0123456789';
let gitlab: GitLabStandIn;
let github: GitHubStandIn;
let dataDir: string;
let n = 0;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'create-remote-project-'));
  gitlab = await new GitLabStandIn().start();
  gitlab.addUser(TOKEN, 'swarm-bot');
  gitlab.createGroup('acme/products');
  github = await new GitHubStandIn().start();
  github.addUser(TOKEN, 'swarm-bot');
  github.createOrg('acme-products');
});
afterAll(async () => {
  await gitlab?.close();
  await github?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface CreatorFixture {
  creator: ProjectRepositoryCreator;
  /** Someone else's project of that name, made outside Auto-Dev (one commit, no marker). */
  makeForeign(name: string): Promise<void>;
  /** Every project the forge holds. */
  projects(): string[];
  /** The commits on `main` of the project's repository, read with git where the forge keeps it. */
  commitsOnMain(project: ProjectRepository): Promise<number>;
}

const env = { GITLAB_TOKEN: TOKEN, GITHUB_TOKEN: TOKEN };

function settings(
  forge: ProjectForgeSettings['forge'],
  over: Partial<ProjectForgeSettings> = {},
): ProjectForgeSettings {
  return { forge, base_url: null, namespace: null, token_env: null, visibility: 'private', ...over };
}

async function countCommits(repo: string): Promise<number> {
  const counted = await bareGit(repo, ['rev-list', '--count', 'refs/heads/main'], [128]);
  return counted.exitCode === 0 ? Number(counted.stdout.trim()) : 0;
}

const localFixture = (): CreatorFixture => ({
  creator: projectRepositoryCreator(settings('local'), { dataDir, env: {} }),
  makeForeign: async (name) => {
    const dir = path.join(dataDir, 'projects', name);
    fs.mkdirSync(dir, { recursive: true });
    await git(dir, ['init', '--quiet', '--initial-branch=main']);
    await git(dir, ['commit', '--quiet', '--allow-empty', '-m', 'someone else'], { asAutodev: true });
  },
  projects: () => fs.readdirSync(path.join(dataDir, 'projects')).map((p) => path.join(dataDir, 'projects', p)),
  commitsOnMain: (project) => countCommits(project.remoteUrl),
});

const gitlabFixture =
  (namespace: string | null): (() => CreatorFixture) =>
  () => ({
    creator: projectRepositoryCreator(settings('gitlab', { base_url: gitlab.url, namespace }), { dataDir, env }),
    makeForeign: async (name) => {
      await gitlab.createProject(`${namespace ?? 'swarm-bot'}/${name}`);
    },
    projects: () => gitlab.projectPaths(),
    commitsOnMain: (project) => countCommits(gitlab.project(project.project).bare),
  });

const githubFixture =
  (org: string | null): (() => CreatorFixture) =>
  () => ({
    creator: projectRepositoryCreator(settings('github', { base_url: github.url, namespace: org }), { dataDir, env }),
    makeForeign: async (name) => {
      await github.createRepo(`${org ?? 'swarm-bot'}/${name}`);
    },
    projects: () => github.repoNames(),
    commitsOnMain: (project) => countCommits(github.repo(project.project).bare),
  });

function describeCreatorContract(label: string, fixture: () => CreatorFixture, expectedProject: RegExp): void {
  describe(`${label}: product repository creator contract`, () => {
    const input = (name: string, id: number) => ({ name, title: `Product ${name}`, marker: projectMarker(id) });

    it('makes an empty project, then one first commit on main; the clone URL carries no token', async () => {
      const f = fixture();
      const name = `made-${++n}`;
      const made = await f.creator.ensureProject(input(name, n));
      expect(made).toMatchObject({ forge: f.creator.forge, created: true });
      expect(made.project).toMatch(expectedProject);
      expect(made.project.endsWith(name)).toBe(true);
      expect(made.remoteUrl).not.toContain(TOKEN);
      expect(await f.commitsOnMain(made)).toBe(0);
      const { sha } = await f.creator.ensureInitialCommit(made, input(name, n));
      expect(sha).toMatch(/^[0-9a-f]{40}$/);
      expect(await f.commitsOnMain(made)).toBe(1);
    });

    it('a retry after a crash finds the project and its first commit: no second project, no second commit', async () => {
      const f = fixture();
      const name = `retried-${++n}`;
      const first = await f.creator.ensureProject(input(name, n));
      const { sha } = await f.creator.ensureInitialCommit(first, input(name, n));
      const before = f.projects().length;
      const again = await f.creator.ensureProject(input(name, n));
      expect(again).toEqual({ ...first, created: false });
      expect(await f.creator.ensureInitialCommit(again, input(name, n))).toEqual({ sha });
      expect(f.projects()).toHaveLength(before);
      expect(await f.commitsOnMain(again)).toBe(1);
    });

    it('a project of that name Auto-Dev did not make, or made for another project, is PROJECT_REPO_TAKEN; nothing changes', async () => {
      const f = fixture();
      const foreign = `foreign-${++n}`;
      await f.makeForeign(foreign);
      const before = f.projects().length;
      expect((await expectCode(f.creator.ensureProject(input(foreign, n)), 'PROJECT_REPO_TAKEN')).message).toMatch(
        /did not make/,
      );
      expect(f.projects()).toHaveLength(before);

      const other = `other-${++n}`;
      const made = await f.creator.ensureProject(input(other, 1000 + n));
      await f.creator.ensureInitialCommit(made, input(other, 1000 + n));
      expect((await expectCode(f.creator.ensureProject(input(other, n)), 'PROJECT_REPO_TAKEN')).message).toMatch(
        /did not make/,
      );
      expect(f.projects()).toHaveLength(before + 1);
      expect(await f.commitsOnMain(made)).toBe(1);
    });
  });
}

describeCreatorContract('local', localFixture, /projects\/made-\d+$|projects\/retried-\d+$|projects\/other-\d+$/);
describeCreatorContract('GitLab stand-in, group namespace', gitlabFixture('acme/products'), /^acme\/products\//);
describeCreatorContract('GitLab stand-in, user namespace', gitlabFixture(null), /^swarm-bot\//);
describeCreatorContract('GitHub stand-in, user', githubFixture(null), /^swarm-bot\//);
describeCreatorContract('GitHub stand-in, organization', githubFixture('acme-products'), /^acme-products\//);

describe('product repository creator: bad settings and credentials', () => {
  it('a GitLab creator without its token is FORGE_AUTH_FAILED naming the variable, and makes nothing', async () => {
    const creator = projectRepositoryCreator(
      settings('gitlab', { base_url: gitlab.url, token_env: 'PRODUCTS_TOKEN' }),
      {
        dataDir,
        env: {},
      },
    );
    const before = gitlab.projectPaths().length;
    expect(
      (
        await expectCode(
          creator.ensureProject({ name: 'no-token', title: 'No token', marker: projectMarker(1) }),
          'FORGE_AUTH_FAILED',
        )
      ).message,
    ).toMatch(/PRODUCTS_TOKEN/);
    expect(gitlab.projectPaths()).toHaveLength(before);
  });

  it('a GitHub namespace that is a path, or a base URL with credentials, is refused before any request', () => {
    expect(() => projectRepositoryCreator(settings('github', { namespace: 'a/b' }), { dataDir, env })).toThrowError(
      /not a GitHub organization/,
    );
    expect(() =>
      projectRepositoryCreator(settings('gitlab', { base_url: 'https://user:secret@gitlab.example.com' }), {
        dataDir,
        env,
      }),
    ).toThrowError(/credentials/);
  });

  it('a name that cannot name a repository is VALIDATION_FAILED', async () => {
    const creator = projectRepositoryCreator(settings('gitlab', { base_url: gitlab.url }), { dataDir, env });
    expect(
      (
        await expectCode(
          creator.ensureProject({ name: '../escape', title: 'x', marker: projectMarker(1) }),
          'VALIDATION_FAILED',
        )
      ).message,
    ).toMatch(/cannot name a repository/);
  });
});

describe.each([
  ['GitLab stand-in', 'gitlab' as const, /^\/api\/v4\/projects\/acme%2Fproducts%2F/],
  ['GitHub stand-in', 'github' as const, /^\/repos\/acme-products\//],
])('%s: the look and the create race', (_label, forge, projectPath) => {
  const creatorFor = () =>
    projectRepositoryCreator(
      settings(forge, {
        base_url: forge === 'gitlab' ? gitlab.url : github.url,
        namespace: forge === 'gitlab' ? 'acme/products' : 'acme-products',
      }),
      { dataDir, env },
    );
  const inject = (times: number) =>
    (forge === 'gitlab' ? gitlab : github).inject({ method: 'GET', path: projectPath, status: 404, times });
  const count = () => (forge === 'gitlab' ? gitlab.projectPaths() : github.repoNames()).length;
  /** The create requests the stand-in refused as taken since `from` (so the race really was run). */
  const refusedCreates = (from: number) =>
    (forge === 'gitlab' ? gitlab : github).server.requests
      .slice(from)
      .filter((r) => r.method === 'POST' && r.status === (forge === 'gitlab' ? 400 : 422)).length;
  const requestCount = () => (forge === 'gitlab' ? gitlab : github).server.requests.length;

  it('a project made by a twin attempt between our look and our create is found, not refused', async () => {
    const name = `raced-${++n}`;
    const creator = creatorFor();
    const first = await creator.ensureProject({ name, title: 'Raced', marker: projectMarker(n) });
    const before = count();
    const from = requestCount();
    // Our look misses it (the twin had not committed it yet); the create is refused as taken; the second look finds it.
    inject(1);
    const again = await creator.ensureProject({ name, title: 'Raced', marker: projectMarker(n) });
    expect(again).toEqual({ ...first, created: false });
    expect(count()).toBe(before);
    expect(refusedCreates(from)).toBe(1);
  });

  it('a taken name the token cannot see is PROJECT_REPO_TAKEN, and nothing is made', async () => {
    const name = `hidden-${++n}`;
    const creator = creatorFor();
    await creator.ensureProject({ name, title: 'Hidden', marker: projectMarker(10_000 + n) });
    const before = count();
    const from = requestCount();
    inject(2);
    const error = await expectCode(
      creator.ensureProject({ name, title: 'Hidden', marker: projectMarker(n) }),
      'PROJECT_REPO_TAKEN',
    );
    expect(error.message).toContain(name);
    expect(count()).toBe(before);
    expect(refusedCreates(from)).toBe(1);
  });
});
