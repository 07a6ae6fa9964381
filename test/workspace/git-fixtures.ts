/**
 * @module Throwaway git repositories for the workspace tests: a real repo in a temp dir with one commit on `main`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { git, gitOutput } from '../../src/workspace/git.js';
import { setTreeWritable } from '../../src/workspace/file-modes.js';

export interface TestRepo {
  /** The temp dir holding everything; removed by `cleanup`. */
  root: string;
  /** The main checkout, on `main`. */
  repo: string;
  /** Where task worktrees go. */
  baseDir: string;
  cleanup(): Promise<void>;
}

/** A repo in a new temp dir under `parent` (default the OS temp dir, usually /tmp). */
export async function makeRepo(parent = tmpdir()): Promise<TestRepo> {
  const root = await mkdtemp(join(parent, 'autodev-ws-'));
  const repo = join(root, 'repo');
  await git(root, ['init', '--quiet', '--initial-branch=main', repo]);
  await writeFile(join(repo, 'README.md'), '# sample\n');
  await writeFile(join(repo, '.gitignore'), 'node_modules/\n*.log\n');
  await commitAll(repo, 'initial commit');
  return {
    root,
    repo,
    baseDir: join(root, 'worktrees'),
    async cleanup() {
      await setTreeWritable(root, true);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Commits everything in `cwd` (as a person would, outside Auto-Dev's code paths) and returns the commit. */
export async function commitAll(cwd: string, message: string): Promise<string> {
  await git(cwd, ['add', '--all']);
  await git(cwd, ['commit', '--quiet', '-m', message], { asAutodev: true });
  return gitOutput(cwd, ['rev-parse', 'HEAD']);
}

export async function branchCommit(repo: string, branch: string): Promise<string | null> {
  const result = await git(repo, ['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], { okExitCodes: [1] });
  return result.exitCode === 0 ? result.stdout.trim() : null;
}

/** The file's content at `ref`, or null when it is not there. */
export async function fileAt(repo: string, ref: string, path: string): Promise<string | null> {
  const result = await git(repo, ['show', `${ref}:${path}`], { okExitCodes: [128] });
  return result.exitCode === 0 ? result.stdout : null;
}
