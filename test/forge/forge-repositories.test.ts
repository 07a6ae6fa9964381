/**
 * @module Registering GitLab and GitHub repositories (`autodev repos add --gitlab/--github`, `POST /api/repos` with
 * `forge`) against the stand-ins on both engines: the forge is asked for the project, the repository is cloned over
 * real git HTTP into the data directory without the token in its config, and bad input (no token, unknown project,
 * wrong flags) leaves no row and no clone.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeClientFor } from '../../src/forge/forge-clients.js';
import { git } from '../../src/workspace/git.js';
import { DIALECTS } from '../support/dialects.js';
import { commitOnBranch } from '../support/forge-clone.js';
import { GitHubStandIn } from '../support/github-stand-in.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';
import { errorOf, useTestServer } from '../server/test-server.js';

const GITLAB_TOKEN = 'glpat-registering';
const GITHUB_TOKEN = 'ghp_registering';
let gitlab: GitLabStandIn;
let github: GitHubStandIn;

beforeAll(async () => {
  gitlab = await new GitLabStandIn().start();
  gitlab.addUser(GITLAB_TOKEN, 'swarm-bot');
  await gitlab.createProject('acme/platform/app');
  await gitlab.createProject('acme/other');
  await gitlab.createProject('acme/squashing', { squashOption: 'default_on' });
  await gitlab.createProject('acme/never-squash', { squashOption: 'never' });
  github = await new GitHubStandIn().start();
  github.addUser(GITHUB_TOKEN, 'swarm-bot');
  await github.createRepo('octo/web');
  await github.createRepo('octo/api');
  await github.createRepo('octo/squash-only', { allowMergeCommit: false });
});
afterAll(async () => {
  await gitlab.close();
  await github.close();
});

function clonesIn(dataDir: string): string[] {
  const dir = path.join(dataDir, 'clones');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

describe.each(DIALECTS)('%s: autodev repos add --gitlab/--github (stand-ins)', (dialect) => {
  const serverDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-forge-repos-'));
  const serverEnv: Record<string, string | undefined> = {};
  const s = useTestServer(dialect, { dataDir: serverDataDir, env: serverEnv });
  afterAll(() => fs.rmSync(serverDataDir, { recursive: true, force: true }));
  const dataDir = (): string => (s.db.sqlitePath ? path.dirname(s.db.sqlitePath) : s.db.dir);

  it('registers a self-hosted GitLab project: asks the forge, clones it into the data dir, no token stored', async () => {
    const out = await runCliInProcessOn(
      s.db,
      [
        'repos',
        'add',
        '--gitlab',
        gitlab.url,
        '--project',
        'acme/platform/app',
        '--test-command',
        'npm test',
        '--json',
      ],
      { GITLAB_TOKEN },
    );
    expect(out.code, out.stderr).toBe(0);
    const repo = JSON.parse(out.stdout) as Record<string, unknown>;
    expect(repo).toMatchObject({
      name: 'app',
      forge: 'gitlab',
      default_branch: 'main',
      remote_url: gitlab.remoteUrl('acme/platform/app'),
      forge_project: 'acme/platform/app',
      location: path.join(dataDir(), 'clones', String(repo.id)),
    });
    const clone = String(repo.location);
    expect(fs.readFileSync(path.join(clone, 'README.md'), 'utf8')).toContain('acme/platform/app');
    const config = fs.readFileSync(path.join(clone, '.git', 'config'), 'utf8');
    expect(config).not.toContain(GITLAB_TOKEN);
    const row = await s.db.handle.db
      .selectFrom('repositories')
      .selectAll()
      .where('name', '=', 'app')
      .executeTakeFirstOrThrow();
    expect(row.settings).not.toContain(GITLAB_TOKEN);
    expect(JSON.parse(row.settings)).toMatchObject({ forge_base_url: gitlab.url, forge_token_env: 'GITLAB_TOKEN' });

    // The registry gives the row its GitLab client: a task branch from the clone is pushed and opened for real.
    const forge = forgeClientFor(row, { dataDir: dataDir(), env: { GITLAB_TOKEN } });
    expect(forge.kind).toBe('gitlab');
    const head = await commitOnBranch(clone, `autodev/${dialect}-1`, { 'x.txt': 'x\n' }, 'Add x');
    expect(await forge.pushBranch(`autodev/${dialect}-1`)).toEqual({ sha: head });
    const mr = await forge.openMergeRequest({ sourceBranch: `autodev/${dialect}-1`, title: 'Add x', description: '' });
    expect(mr).toMatchObject({ headSha: head, targetBranch: 'main', state: 'open' });

    const listed = await runCliInProcessOn(s.db, ['repos', 'list']);
    expect(listed.stdout).toMatch(
      /app\s+gitlab\s+main\s+npm test\s+http:\/\/127\.0\.0\.1:\d+\/acme\/platform\/app\.git/,
    );
  });

  it('registers a GitHub repository with the token variable named by --token-env, polled (--poll)', async () => {
    const out = await runCliInProcessOn(
      s.db,
      [
        'repos',
        'add',
        '--github',
        'octo/web',
        '--github-api-url',
        github.url,
        '--token-env',
        'ACME_GH',
        '--poll',
        '--json',
      ],
      { ACME_GH: GITHUB_TOKEN },
    );
    expect(out.code, out.stderr).toBe(0);
    const repo = JSON.parse(out.stdout) as Record<string, unknown>;
    expect(repo).toMatchObject({
      name: 'web',
      forge: 'github',
      remote_url: github.remoteUrl('octo/web'),
      forge_events: 'poll',
    });
    const head = await git(String(repo.location), ['rev-parse', 'HEAD']);
    expect(head.stdout.trim()).toMatch(/^[0-9a-f]{40}$/);
  });

  it('refuses bad input with a clear error and changes nothing (no row, no clone)', async () => {
    const first = await runCliInProcessOn(
      s.db,
      ['repos', 'add', '--github', 'octo/web', '--github-api-url', github.url],
      {
        GITHUB_TOKEN,
      },
    );
    expect(first.code, first.stderr).toBe(0);
    const before = await s.rowCounts();
    const clones = clonesIn(dataDir());
    const noToken = await runCliInProcessOn(s.db, ['repos', 'add', '--gitlab', gitlab.url, '--project', 'acme/other']);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('GITLAB_TOKEN');
    const badToken = await runCliInProcessOn(
      s.db,
      ['repos', 'add', '--gitlab', gitlab.url, '--project', 'acme/other'],
      {
        GITLAB_TOKEN: 'revoked',
      },
    );
    expect(badToken.stderr).toMatch(/refused the token/);
    const unknown = await runCliInProcessOn(
      s.db,
      ['repos', 'add', '--github', 'octo/nope', '--github-api-url', github.url],
      {
        GITHUB_TOKEN,
      },
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404/);
    for (const args of [
      ['--gitlab', gitlab.url],
      ['--gitlab', gitlab.url, '--project', 'no-group'],
      ['--gitlab', 'ftp://gitlab.example', '--project', 'a/b'],
      ['--gitlab', `http://user:pw@127.0.0.1/`, '--project', 'a/b'],
      ['--github', 'octo/web', '--project', 'x/y'],
      ['--github', 'a/b/c'],
      ['--gitlab', gitlab.url, '--github', 'a/b', '--project', 'a/b'],
      ['some/path', '--github', 'octo/web'],
      ['--github', 'octo/api', '--token-env', 'not a name'],
    ]) {
      const out = await runCliInProcessOn(s.db, ['repos', 'add', ...args], { GITLAB_TOKEN, GITHUB_TOKEN });
      expect(out.code, `${args.join(' ')}: ${out.stderr}`).toBe(2);
      expect(out.stderr).toMatch(/autodev: /);
    }
    const taken = await runCliInProcessOn(
      s.db,
      ['repos', 'add', '--github', 'octo/web', '--github-api-url', github.url],
      {
        GITHUB_TOKEN,
      },
    );
    expect(taken.stderr).toContain('already exists');
    expect(await s.rowCounts()).toEqual(before);
    expect(clonesIn(dataDir())).toEqual(clones);
  });

  it("takes the merge method from the forge's settings, and refuses one the forge forbids (no row, no clone)", async () => {
    const before = await s.rowCounts();
    const clones = clonesIn(dataDir());
    const forbidden = [
      [['--gitlab', gitlab.url, '--project', 'acme/never-squash', '--merge-method', 'squash'], /squash_option/],
      [
        ['--github', 'octo/squash-only', '--github-api-url', github.url, '--merge-method', 'merge'],
        /allow_merge_commit/,
      ],
    ] as const;
    for (const [args, setting] of forbidden) {
      const out = await runCliInProcessOn(s.db, ['repos', 'add', ...args], { GITLAB_TOKEN, GITHUB_TOKEN });
      expect(out.code, out.stderr).toBe(2);
      expect(out.stderr).toMatch(setting);
      expect(out.stderr).toContain('does not allow');
    }
    expect(await s.rowCounts()).toEqual(before);
    expect(clonesIn(dataDir())).toEqual(clones);

    const add = async (args: string[]) => {
      const out = await runCliInProcessOn(s.db, ['repos', 'add', ...args, '--json'], { GITLAB_TOKEN, GITHUB_TOKEN });
      expect(out.code, out.stderr).toBe(0);
      return (JSON.parse(out.stdout) as { merge_method: string }).merge_method;
    };
    // GitLab "Squash commits when merging: encourage" (default_on), a GitHub repository allowing only squashing.
    expect(await add(['--gitlab', gitlab.url, '--project', 'acme/squashing'])).toBe('squash');
    expect(await add(['--github', 'octo/squash-only', '--github-api-url', github.url])).toBe('squash');
    // A GitLab project that never squashes: merge commits, and the one asked for when it is allowed.
    expect(await add(['--gitlab', gitlab.url, '--project', 'acme/never-squash', '--merge-method', 'merge'])).toBe(
      'merge',
    );
  });

  it('POST /api/repos registers a GitHub repository by forge and project, and refuses a bad one', async () => {
    serverEnv.GITHUB_TOKEN = GITHUB_TOKEN;
    const created = await s.request({
      method: 'POST',
      url: '/api/repos',
      payload: { forge: 'github', project: 'octo/api', base_url: github.url, merge_method: 'squash', events: 'poll' },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({
      forge_events: 'poll',
      name: 'api',
      forge: 'github',
      merge_method: 'squash',
      remote_url: github.remoteUrl('octo/api'),
      forge_url: `${github.url}/octo/api`,
    });
    expect(clonesIn(serverDataDir)).toHaveLength(1);
    const before = await s.rowCounts();
    const noProject = await s.request({
      method: 'POST',
      url: '/api/repos',
      payload: { forge: 'gitlab', base_url: gitlab.url },
    });
    expect(noProject.statusCode).toBe(400);
    const mixed = await s.request({ method: 'POST', url: '/api/repos', payload: { path: '/tmp', project: 'a/b' } });
    expect(errorOf(mixed).code).toBe('VALIDATION_FAILED');
    const noToken = await s.request({
      method: 'POST',
      url: '/api/repos',
      payload: { forge: 'gitlab', project: 'acme/other', base_url: gitlab.url },
    });
    expect(errorOf(noToken)).toMatchObject({ code: 'FORGE_AUTH_FAILED' });
    expect(errorOf(noToken).message).toContain('GITLAB_TOKEN');
    expect(await s.rowCounts()).toEqual(before);
    expect(clonesIn(serverDataDir)).toHaveLength(1);
  });
});
