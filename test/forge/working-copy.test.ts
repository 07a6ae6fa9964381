/**
 * @module Agent processes on their own disks (`forge/working-copy.ts`), against the GitLab stand-in over real git HTTP
 * (test/support/gitlab-stand-in.ts): a process whose data dir does not hold the registered clone clones the remote
 * into its own clone cache (the token only in git's environment), sees the task branches another process pushed
 * (created, fast-forwarded; a diverged local branch left alone) and the default branch as the forge has it, and its
 * forge client pushes from there. A repository without a remote on another disk is a clear error naming the fix.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloneCachePath } from '../../src/forge/clone-cache.js';
import { forgeClientFor } from '../../src/forge/forge-clients.js';
import { gitCredentialEnv } from '../../src/forge/git-credential-env.js';
import type { RepositoryRow } from '../../src/forge/repositories.js';
import { syncWorkingCopy, workingCopyPath } from '../../src/forge/working-copy.js';
import { git } from '../../src/workspace/git.js';
import { expectCode } from '../support/expect-error.js';
import { branchSha } from '../support/forge-stand-in-http.js';
import { cloneForTest, commitOnBranch } from '../support/forge-clone.js';
import { GitLabStandIn } from '../support/gitlab-stand-in.js';

const TOKEN = 'working-copy-token-0123456789';
const env = { FORGE_TOKEN: TOKEN };
let gitlab: GitLabStandIn;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'working-copy-'));
  gitlab = await new GitLabStandIn().start();
  gitlab.addUser(TOKEN, 'swarm-bot');
});
afterAll(async () => {
  await gitlab?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function row(location: string, project: string, overrides: Partial<RepositoryRow> = {}): RepositoryRow {
  return {
    id: 7,
    name: 'app',
    forge: 'gitlab',
    location,
    remote_url: gitlab.remoteUrl(project),
    default_branch: 'main',
    test_command: null,
    deploy_command: null,
    lint_command: null,
    settings: JSON.stringify({ forge_base_url: gitlab.url, forge_project: project, forge_token_env: 'FORGE_TOKEN' }),
    created_at: 1,
    updated_at: 1,
    ...overrides,
  } as RepositoryRow;
}

const head = async (cwd: string, ref: string) =>
  (await git(cwd, ['rev-parse', '--verify', '--quiet', ref], { okExitCodes: [1] })).stdout.trim() || null;

describe('an agent process on its own disk works from its own clone of the remote', () => {
  it('clones into its clone cache, follows pushed task branches and the default branch, pushes from there', async () => {
    const project = 'acme/split';
    const state = await gitlab.createProject(project);
    // Process A registered the repository: its clone is on A's disk, which process B does not have.
    const diskA = path.join(dir, 'disk-a');
    const diskB = path.join(dir, 'disk-b');
    const registered = await cloneForTest(gitlab.remoteUrl(project), TOKEN, cloneCachePath(diskA, 7));
    const onB = row(registered, project);
    // A's clone cache is A's: B works from its own, though A's is on this machine's disk here.
    expect(workingCopyPath(onB, diskB)).toBe(cloneCachePath(diskB, 7));
    expect(workingCopyPath(onB, diskA)).toBe(registered);
    expect(workingCopyPath(row(path.join(dir, 'gone', 'clones', '7'), project), diskB)).toBe(cloneCachePath(diskB, 7));
    // A checkout registered outside any clone cache (a shared volume) is used as is while it is there.
    const shared = await cloneForTest(gitlab.remoteUrl(project), TOKEN, path.join(dir, 'shared-volume', 'app'));
    expect(workingCopyPath(row(shared, project), diskB)).toBe(shared);
    expect(workingCopyPath(row(path.join(dir, 'no-volume', 'app'), project), diskB)).toBe(cloneCachePath(diskB, 7));

    // A's builder pushed its task branch.
    const first = await commitOnBranch(registered, 'autodev/1-feature', { 'a.txt': 'a\n' }, 'feature');
    await forgeClientFor(row(registered, project), { dataDir: diskA, env }).pushBranch('autodev/1-feature');

    // B syncs (twice at once: one clone) and sees it as a local branch.
    const [synced, again] = await Promise.all([
      syncWorkingCopy(onB, { dataDir: diskB, env }),
      syncWorkingCopy(onB, { dataDir: diskB, env }),
    ]);
    const mine = cloneCachePath(diskB, 7);
    expect(synced).toEqual({ ...onB, location: mine });
    expect(again.location).toBe(mine);
    expect(fs.readdirSync(path.dirname(mine))).toEqual(['7']);
    expect(await head(mine, 'refs/heads/autodev/1-feature')).toBe(first);
    expect(await head(mine, 'refs/heads/main')).toBe(await branchSha(state.bare, 'main'));
    expect(fs.readFileSync(path.join(mine, '.git', 'config'), 'utf8')).not.toContain(TOKEN);

    // A hook and an fsmonitor planted in the clone cache (a tampered disk) never see the token: the next sync's
    // fetch updates refs (git runs `reference-transaction` then) with hooks and fsmonitor off; only its token-free
    // local ref updates may run the hook. The hook is live: plain git in the clone runs it.
    const ran = path.join(dir, 'planted-hook-ran');
    const hook = path.join(mine, '.git', 'hooks', 'reference-transaction');
    fs.writeFileSync(hook, `#!/bin/sh\nenv >> '${ran}'\n`, { mode: 0o755 });
    await git(mine, ['config', 'core.fsmonitor', `env >> '${ran}'; true`]);

    // A pushes more on the branch, and main moves in the forge: B fast-forwards its branch and follows main.
    const second = await commitOnBranch(registered, 'autodev/1-feature', { 'b.txt': 'b\n' }, 'more');
    await forgeClientFor(row(registered, project), { dataDir: diskA, env }).pushBranch('autodev/1-feature');
    const merged = await commitOnBranch(registered, 'main', { 'm.txt': 'm\n' }, 'merged in the forge');
    await git(registered, ['push', '--quiet', gitlab.remoteUrl(project), 'main:main'], {
      env: { ...process.env, ...gitCredentialEnv(gitlab.remoteUrl(project), TOKEN, 'oauth2') },
    });
    await syncWorkingCopy(onB, { dataDir: diskB, env });
    expect(await head(mine, 'refs/heads/autodev/1-feature')).toBe(second);
    expect(await head(mine, 'refs/heads/main')).toBe(merged);
    const seenBySync = fs.existsSync(ran) ? fs.readFileSync(ran, 'utf8') : '';
    expect(seenBySync).not.toContain(TOKEN);
    expect(seenBySync).not.toContain('AUTODEV_FORGE_GIT_TOKEN');
    fs.rmSync(ran, { force: true });
    await git(mine, ['update-ref', 'refs/heads/hook-probe', merged]);
    expect(fs.readFileSync(ran, 'utf8')).toContain('GIT_');
    fs.rmSync(hook);
    await git(mine, ['config', '--unset', 'core.fsmonitor']);
    await git(mine, ['update-ref', '-d', 'refs/heads/hook-probe']);

    // B's own commit on another task branch, pushed through its forge client (from its clone cache).
    const fromB = await commitOnBranch(mine, 'autodev/2-fix', { 'c.txt': 'c\n' }, 'fix on B');
    const clientB = forgeClientFor(onB, { dataDir: diskB, env });
    expect(clientB.repository.localPath).toBe(mine);
    expect(await clientB.pushBranch('autodev/2-fix')).toEqual({ sha: fromB });
    expect(await branchSha(state.bare, 'autodev/2-fix')).toBe(fromB);

    // A diverged local task branch is never moved backwards or sideways.
    await git(mine, ['checkout', '-q', 'main']);
    const diverged = await commitOnBranch(mine, 'autodev/1-feature', { 'x.txt': 'x\n' }, 'local only');
    await commitOnBranch(registered, 'autodev/1-feature', { 'y.txt': 'y\n' }, 'remote only');
    await forgeClientFor(row(registered, project), { dataDir: diskA, env }).pushBranch('autodev/1-feature');
    await git(mine, ['checkout', '-q', 'main']);
    await syncWorkingCopy(onB, { dataDir: diskB, env });
    expect(await head(mine, 'refs/heads/autodev/1-feature')).toBe(diverged);
  });

  it('refuses without a token (no clone left behind), and a repository without a remote on another disk', async () => {
    const project = 'acme/refused';
    await gitlab.createProject(project);
    const disk = path.join(dir, 'disk-refused');
    const onDisk = row(path.join(dir, 'elsewhere', 'clones', '7'), project);
    const missing = await expectCode(syncWorkingCopy(onDisk, { dataDir: disk, env: {} }), 'FORGE_AUTH_FAILED');
    expect(missing.message).toContain('FORGE_TOKEN');
    const refused = await expectCode(
      syncWorkingCopy(onDisk, { dataDir: disk, env: { FORGE_TOKEN: 'wrong-token' } }),
      'FORGE_AUTH_FAILED',
    );
    expect(refused.message).not.toContain('wrong-token');
    expect(fs.existsSync(path.join(disk, 'clones')) ? fs.readdirSync(path.join(disk, 'clones')) : []).toEqual([]);

    const local = row(path.join(dir, 'on-another-machine', 'shop'), project, { forge: 'local', remote_url: null });
    const error = await expectCode(syncWorkingCopy(local, { dataDir: disk, env }), 'REPOSITORY_NOT_ON_THIS_DISK');
    expect(error.message).toMatch(/share|data dir/);
    expect(error.message).toContain('--gitlab');
    const here = path.join(dir, 'shop-here');
    fs.mkdirSync(here);
    expect(await syncWorkingCopy({ ...local, location: here }, { dataDir: disk, env })).toEqual({
      ...local,
      location: here,
    });
  });
});
