/**
 * @module A hostile agent's clone: everything a session can plant in its own clone to make Auto-Dev run code on the
 * host when it saves the work (fsmonitor, hooks, filters, includes, `commondir`, a `.git` file redirecting to a
 * directory it controls, a `.git` symlink into the repository). The files are planted here directly, as a session
 * writing its clone would (test/agents/real-cli-hostile.test.ts plays the same through the real CLI). Every planted
 * script tries to touch a marker on the host and to copy the admin token into the clone: neither may happen, the
 * repository's branches and config stay as they were, and the honest part of the work is still saved.
 */
import { chmod, mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitOutput } from '../../src/workspace/git.js';
import { commitWip, prepareWorktree, removeWorktree, type Worktree } from '../../src/workspace/worktrees.js';
import { fileAt, makeRepo, type TestRepo } from './git-fixtures.js';

const TOKEN = 'admin-token-0123456789abcdef-should-never-leak';

let t: TestRepo;
let dataDir: string;
let marker: string;

beforeEach(async () => {
  t = await makeRepo();
  dataDir = join(t.root, 'data');
  await mkdir(dataDir);
  await writeFile(join(dataDir, 'admin-token'), `${TOKEN}\n`, { mode: 0o600 });
  marker = join(t.root, 'PWNED');
});

afterEach(async () => {
  await t.cleanup();
});

const save = () => ({ mode: 'bubblewrap' as const, hiddenPaths: [dataDir] });

/** A script that, wherever it runs, tries to mark the host and steal the token into the clone. */
async function plantScript(wt: Worktree, name: string): Promise<string> {
  const path = join(wt.path, name);
  await writeFile(
    path,
    `#!/bin/sh\ntouch '${marker}' 2>/dev/null\ncat '${join(dataDir, 'admin-token')}' >> '${join(wt.path, 'leak.txt')}' 2>/dev/null\nexit 0\n`,
  );
  await chmod(path, 0o755);
  return path;
}

async function prepare(taskId: number): Promise<Worktree> {
  return prepareWorktree(
    { repoPath: t.repo, baseDir: t.baseDir, taskId, title: 'Hostile', baseBranch: 'main' },
    save(),
  );
}

async function repositoryState() {
  return {
    refs: await gitOutput(t.repo, ['for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads/main']),
    config: await readFile(join(t.repo, '.git', 'config'), 'utf8'),
  };
}

async function expectContained(wt: Worktree, before: Awaited<ReturnType<typeof repositoryState>>) {
  expect(existsSync(marker), 'a planted script ran on the host').toBe(false);
  if (existsSync(join(wt.path, 'leak.txt'))) {
    expect(await readFile(join(wt.path, 'leak.txt'), 'utf8')).not.toContain(TOKEN);
  }
  const branchLeak = await fileAt(t.repo, wt.branch as string, 'leak.txt');
  expect(branchLeak ?? '').not.toContain(TOKEN);
  expect(await repositoryState()).toEqual(before);
}

/** `runsInSandbox`: git does run the planted script during the save, so it must have run contained (leak.txt empty). */
const attacks: { name: string; runsInSandbox?: boolean; plant: (wt: Worktree) => Promise<void> }[] = [
  {
    name: 'core.fsmonitor in the clone’s config',
    runsInSandbox: true,
    plant: async (wt) => {
      const script = await plantScript(wt, 'fsmonitor.sh');
      await gitOutput(wt.path, ['config', 'core.fsmonitor', script]);
    },
  },
  {
    name: 'hooks (pre-commit, post-commit, commit-msg) through core.hooksPath',
    runsInSandbox: true,
    plant: async (wt) => {
      const hooks = join(wt.path, '.hooks');
      await mkdir(hooks);
      for (const hook of ['pre-commit', 'post-commit', 'commit-msg', 'post-index-change']) {
        await plantScript(wt, join('.hooks', hook));
      }
      await gitOutput(wt.path, ['config', 'core.hooksPath', hooks]);
    },
  },
  {
    name: 'a clean/smudge filter named in .gitattributes',
    plant: async (wt) => {
      const script = await plantScript(wt, 'filter.sh');
      await writeFile(join(wt.path, '.gitattributes'), '* filter=evil\n');
      await gitOutput(wt.path, ['config', 'filter.evil.clean', script]);
      await gitOutput(wt.path, ['config', 'filter.evil.smudge', script]);
    },
  },
  {
    name: 'an include.path to a config it wrote',
    plant: async (wt) => {
      const script = await plantScript(wt, 'included.sh');
      await writeFile(join(wt.path, 'evil.gitconfig'), `[core]\n\tfsmonitor = ${script}\n`);
      await gitOutput(wt.path, ['config', 'include.path', join(wt.path, 'evil.gitconfig')]);
    },
  },
  {
    name: 'a .git file redirecting (gitdir:) to a directory it controls',
    plant: async (wt) => {
      const script = await plantScript(wt, 'redirect.sh');
      await rename(join(wt.path, '.git'), join(wt.path, '.evil-git'));
      await writeFile(join(wt.path, '.git'), `gitdir: ${join(wt.path, '.evil-git')}\n`);
      await gitOutput(wt.path, ['config', 'core.fsmonitor', script]);
    },
  },
  {
    name: 'a commondir file pointing at a directory with its own config',
    plant: async (wt) => {
      const script = await plantScript(wt, 'commondir.sh');
      const evil = join(wt.path, 'evil-common');
      await mkdir(evil);
      await writeFile(join(evil, 'config'), `[core]\n\tfsmonitor = ${script}\n`);
      await writeFile(join(wt.path, '.git', 'commondir'), `${evil}\n`);
    },
  },
];

describe('a hostile clone cannot make Auto-Dev run its code on the host', () => {
  for (const [index, attack] of attacks.entries()) {
    it(`${attack.name}: saving and removing the clone run nothing outside the sandbox`, async () => {
      const wt = await prepare(100 + index);
      const before = await repositoryState();
      await writeFile(join(wt.path, 'honest-work.txt'), 'the feature\n');
      await attack.plant(wt);

      // Saving may fail for a clone broken on purpose; it must never escape.
      await commitWip(wt, 'WIP: hostile', save()).catch((error: unknown) => error);
      await expectContained(wt, before);
      if (attack.runsInSandbox) expect(existsSync(join(wt.path, 'leak.txt')), 'the planted script ran').toBe(true);
      await removeWorktree(wt, {}, save()).catch((error: unknown) => error);
      await expectContained(wt, before);
    });
  }

  it('a hook that turns the save’s outputs into links (to the admin token, to /dev/zero) makes Auto-Dev read neither', async () => {
    const wt = await prepare(122);
    const before = await repositoryState();
    const hooks = join(wt.path, '.hooks');
    await mkdir(hooks);
    await writeFile(
      join(hooks, 'post-commit'),
      `#!/bin/sh\nln -sf /dev/zero "$AUTODEV_OUT/task.bundle"\nln -sf '${join(dataDir, 'admin-token')}' "$AUTODEV_OUT/files"\n`,
      { mode: 0o755 },
    );
    await gitOutput(wt.path, ['config', 'core.hooksPath', hooks]);
    await writeFile(join(wt.path, 'work.txt'), 'work\n');

    const outcome = await commitWip(wt, 'WIP: links', save()).catch((error: unknown) => error);

    // It ends (no read of /dev/zero), names no secret, and moved nothing.
    expect(JSON.stringify(outcome)).not.toContain(TOKEN);
    expect(await repositoryState()).toEqual(before);
  });

  it('a .git symlinked to the repository’s own .git cannot move its branches or write its objects', async () => {
    const wt = await prepare(120);
    const before = await repositoryState();
    const objectsBefore = await gitOutput(t.repo, ['count-objects']);
    await mkdir(join(wt.path, 'moved'));
    await rename(join(wt.path, '.git'), join(wt.path, 'moved', '.git'));
    await symlink(join(t.repo, '.git'), join(wt.path, '.git'));
    await writeFile(join(wt.path, 'README.md'), '# rewritten on main?\n');

    await expect(commitWip(wt, 'WIP: onto main?', save())).rejects.toMatchObject({ code: 'GIT_FAILED' });

    expect(await repositoryState()).toEqual(before);
    expect(await gitOutput(t.repo, ['count-objects'])).toBe(objectsBefore);
    expect(await fileAt(t.repo, 'main', 'README.md')).toBe('# sample\n');
  });

  it('the honest work in a clean clone is saved, with the agent’s own commit message', async () => {
    const wt = await prepare(121);
    await writeFile(join(wt.path, 'feature.txt'), 'done\n');
    await gitOutput(wt.path, ['add', '-A']);
    await gitOutput(wt.path, ['commit', '-q', '-m', 'Add the feature']);

    const saved = await commitWip(wt, 'WIP: nothing left', save());

    expect(saved.committed).toBe(false);
    expect(await gitOutput(t.repo, ['log', '-1', '--format=%s', wt.branch as string])).toBe('Add the feature');
    expect(await fileAt(t.repo, wt.branch as string, 'feature.txt')).toBe('done\n');
  });
});
