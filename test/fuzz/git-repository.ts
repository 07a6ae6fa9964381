/**
 * @module The git work tree the fuzz tests register as their repository: one commit on `main`, made once per dir.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const REPOSITORY_NAME = 'fuzz-repo';

export function makeGitRepository(dir: string): string {
  const repo = path.join(dir, REPOSITORY_NAME);
  if (fs.existsSync(path.join(repo, '.git'))) return repo;
  fs.mkdirSync(repo, { recursive: true });
  const identity = {
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@t',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@t',
  };
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, env: { ...process.env, ...identity } });
  git('init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(repo, 'README.md'), 'fuzz\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return repo;
}
