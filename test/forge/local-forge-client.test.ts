/**
 * @module The forge client contract for the local forge, in both of its shapes: the repository is its own remote
 * (the embedded default), and a repository whose `remote_url` is a bare repository on this machine (branches pushed
 * there from the clone, merged there). Real git in temp directories; no database.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalForgeClient } from '../../src/forge/local-forge-client.js';
import { git, gitOutput } from '../../src/workspace/git.js';
import { branchCommit, commitAll, makeRepo } from '../workspace/git-fixtures.js';
import { describeForgeClientContract, type ForgeClientFixture } from './forge-client-contract.js';

function repository(localPath: string, remoteUrl: string | null) {
  return {
    id: 1,
    name: 'contract',
    kind: 'local' as const,
    localPath,
    remoteUrl,
    defaultBranch: 'main',
    mergeMethod: 'merge' as const,
    settings: {},
  };
}

async function parentsIn(repo: string, sha: string): Promise<string[]> {
  return (await gitOutput(repo, ['rev-list', '--parents', '-n', '1', sha])).split(' ').slice(1);
}

async function branchIn(repo: string, branch: string, file: string, content: string): Promise<string> {
  await git(repo, ['checkout', '--quiet', '-b', branch, 'main']);
  await writeFile(join(repo, file), content);
  const sha = await commitAll(repo, `change ${file} on ${branch}`);
  await git(repo, ['checkout', '--quiet', 'main']);
  return sha;
}

describeForgeClientContract('local (the repository is its own remote)', async (): Promise<ForgeClientFixture> => {
  const fixture = await makeRepo();
  return {
    client: new LocalForgeClient(repository(fixture.repo, null)),
    branchInClone: (branch, file, content) => branchIn(fixture.repo, branch, file, content),
    async moveDefaultBranch(file, content) {
      await writeFile(join(fixture.repo, file), content);
      return commitAll(fixture.repo, `main moves: ${file}`);
    },
    defaultBranchHead: async () => (await branchCommit(fixture.repo, 'main'))!,
    parentsOf: (sha) => parentsIn(fixture.repo, sha),
    cleanup: () => fixture.cleanup(),
  };
});

describeForgeClientContract('local with a remote (a bare repository on this machine)', async () => {
  const fixture = await makeRepo();
  const remote = join(fixture.root, 'remote.git');
  await git(fixture.root, ['clone', '--quiet', '--bare', fixture.repo, remote]);
  // A person's checkout of the remote, to move its main as someone else would.
  const other = join(fixture.root, 'other');
  await git(fixture.root, ['clone', '--quiet', remote, other]);
  return {
    client: new LocalForgeClient(repository(fixture.repo, `file://${remote}`)),
    branchInClone: (branch, file, content) => branchIn(fixture.repo, branch, file, content),
    async moveDefaultBranch(file, content) {
      await git(other, ['pull', '--quiet', '--ff-only']);
      await writeFile(join(other, file), content);
      const sha = await commitAll(other, `main moves: ${file}`);
      await git(other, ['push', '--quiet', 'origin', 'main']);
      return sha;
    },
    defaultBranchHead: () => gitOutput(remote, ['rev-parse', 'refs/heads/main']),
    parentsOf: (sha) => parentsIn(remote, sha),
    cleanup: () => fixture.cleanup(),
  };
});
