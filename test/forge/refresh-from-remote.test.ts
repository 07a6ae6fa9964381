/**
 * @module `analyze_repo` reads the remote as it is now: `refreshDefaultBranchFromRemote` fetches the default branch
 * into the clone cache over real git HTTP from the GitLab stand-in (test/support/gitlab-stand-in.ts), with the token
 * only in git's environment: not in the clone's config, and a missing or refused token is a clear error. With
 * `checkout` (the merge task after a forge merge) the clone's files follow as well.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refreshDefaultBranchFromRemote } from '../../src/forge/refresh-from-remote.js';
import type { RepositoryRow } from '../../src/forge/repositories.js';
import { git } from '../../src/workspace/git.js';
import { expectCode } from '../support/expect-error.js';
import { branchSha } from '../support/forge-stand-in-http.js';
import { cloneForTest } from '../support/forge-clone.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';

const TOKEN = 'refresh-token-0123456789';
let gitlab: GitLabStandIn;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'refresh-remote-'));
  gitlab = await new GitLabStandIn().start();
  gitlab.addUser(TOKEN, 'swarm-bot');
});
afterAll(async () => {
  await gitlab?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function row(clone: string, project: string, forge: RepositoryRow['forge'] = 'gitlab'): RepositoryRow {
  return {
    id: 1,
    name: 'app',
    forge,
    location: clone,
    remote_url: gitlab.remoteUrl(project),
    default_branch: 'main',
    test_command: null,
    deploy_command: null,
    lint_command: null,
    settings: JSON.stringify({ forge_base_url: gitlab.url, forge_project: project, forge_token_env: 'FORGE_TOKEN' }),
    created_at: 1,
    updated_at: 1,
  } as RepositoryRow;
}

describe('refreshing the clone cache from the remote (GitLab stand-in, real git HTTP)', () => {
  it("brings the clone's default branch to the remote's, the token only in git's environment", async () => {
    const project = 'acme/analyzed';
    const state = await gitlab.createProject(project);
    const clone = await cloneForTest(gitlab.remoteUrl(project), TOKEN, path.join(dir, 'clone'));
    // Someone pushes to main after the clone was made.
    const other = path.join(dir, 'other');
    await git(dir, ['clone', '--quiet', state.bare, other]);
    fs.writeFileSync(path.join(other, 'NEW.md'), 'new\n');
    await git(other, ['add', '-A']);
    await git(other, ['commit', '--quiet', '-m', 'new'], { asAutodev: true });
    await git(other, ['push', '--quiet', 'origin', 'HEAD:refs/heads/main']);
    const remoteHead = (await branchSha(state.bare, 'main'))!;
    expect((await git(clone, ['rev-parse', 'refs/heads/main'])).stdout.trim()).not.toBe(remoteHead);

    expect(
      await refreshDefaultBranchFromRemote(row(clone, project), { dataDir: dir, env: { FORGE_TOKEN: TOKEN } }),
    ).toEqual({
      sha: remoteHead,
    });
    expect((await git(clone, ['rev-parse', 'refs/heads/main'])).stdout.trim()).toBe(remoteHead);
    expect(fs.readFileSync(path.join(clone, '.git', 'config'), 'utf8')).not.toContain(TOKEN);

    await expectCode(
      refreshDefaultBranchFromRemote(row(clone, project), { dataDir: dir, env: {} }),
      'FORGE_AUTH_FAILED',
    );
    await expectCode(
      refreshDefaultBranchFromRemote(row(clone, project), { dataDir: dir, env: { FORGE_TOKEN: 'wrong-token' } }),
      'FORGE_AUTH_FAILED',
    );
    expect(
      await refreshDefaultBranchFromRemote(row(clone, project, 'local'), { dataDir: dir, env: {} }),
    ).toBeUndefined();
  });

  it('with checkout, the files of the checked-out default branch follow too (a product read after a forge merge)', async () => {
    const project = 'acme/checked-out';
    const state = await gitlab.createProject(project);
    const clone = await cloneForTest(gitlab.remoteUrl(project), TOKEN, path.join(dir, 'checked-out'));
    const other = path.join(dir, 'other-checked-out');
    await git(dir, ['clone', '--quiet', state.bare, other]);
    fs.writeFileSync(path.join(other, 'product.json'), '{"name":"merged"}\n');
    await git(other, ['add', '-A']);
    await git(other, ['commit', '--quiet', '-m', 'merged in the forge'], { asAutodev: true });
    await git(other, ['push', '--quiet', 'origin', 'HEAD:refs/heads/main']);
    const context = { dataDir: dir, env: { FORGE_TOKEN: TOKEN } };

    // Without it the ref moves and the files stay (what analyze_repo's worktrees need: only refs).
    await refreshDefaultBranchFromRemote(row(clone, project), context);
    expect(fs.existsSync(path.join(clone, 'product.json'))).toBe(false);
    await refreshDefaultBranchFromRemote(row(clone, project), context, { checkout: true });
    expect(fs.readFileSync(path.join(clone, 'product.json'), 'utf8')).toContain('merged');
    expect((await git(clone, ['status', '--porcelain'])).stdout).toBe('');
  });
});
