import { describe, expect, it } from 'vitest';
import {
  MAX_SLUG_LENGTH,
  isValidBranchName,
  slugify,
  taskBranchName,
  taskDirName,
} from '../../src/workspace/branch-names.js';
import { git } from '../../src/workspace/git.js';

const NASTY_TITLES = [
  '',
  '   ',
  '---',
  'Add OAuth login',
  'Café crème: naïve résumé façade',
  '修复登录错误',
  '🚀 Ship it 🚀',
  'fix/../../etc/passwd',
  'feature/sub/branch',
  '..',
  '...hidden',
  'ends with dot.',
  'name.lock',
  'HEAD',
  '@',
  '@{upstream}',
  'refs/heads/main',
  'back\\slash and ~tilde^caret:colon?question*star[bracket',
  'tab\there\nnewline\u0000nul\u007fdel',
  '-leading-dash',
  'a'.repeat(500),
  'word '.repeat(100),
  'Ǆ ǅ ǆ ﬁ ＡＢＣ ①②③',
];

async function gitAccepts(branch: string): Promise<boolean> {
  const result = await git('/', ['check-ref-format', '--branch', branch], { okExitCodes: [1, 128] });
  return result.exitCode === 0;
}

describe('slugify', () => {
  it('lowercases and dashes a plain title', () => {
    expect(slugify('Add OAuth login')).toBe('add-oauth-login');
  });

  it('folds accents to ascii', () => {
    expect(slugify('Café crème: naïve résumé')).toBe('cafe-creme-naive-resume');
  });

  it('is never empty', () => {
    expect(slugify('')).toBe('task');
    expect(slugify('修复登录错误')).toBe('task');
    expect(slugify('..')).toBe('task');
    expect(slugify('@{')).toBe('task');
  });

  it('removes path tricks: slashes, dots, .. and @{', () => {
    expect(slugify('fix/../../etc/passwd')).toBe('fix-etc-passwd');
    expect(slugify('use @{upstream}.lock')).toBe('use-upstream-lock');
  });

  it('keeps at most 40 characters, cutting at a word boundary', () => {
    const slug = slugify('word '.repeat(100));
    expect(slug.length).toBeLessThanOrEqual(MAX_SLUG_LENGTH);
    expect(slug).toMatch(/^word(-word)*$/);
    expect(slugify('a'.repeat(500))).toBe('a'.repeat(40));
  });

  it.each(NASTY_TITLES.map((title) => [JSON.stringify(title).slice(0, 40), title]))(
    'title %s gives lowercase ascii and dashes only',
    (_label, title) => {
      const slug = slugify(title);
      expect(slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(slug.length).toBeGreaterThan(0);
      expect(slug.length).toBeLessThanOrEqual(MAX_SLUG_LENGTH);
    },
  );
});

describe('taskBranchName', () => {
  it('is autodev/<task-id>-<slug>', () => {
    expect(taskBranchName(42, 'Add OAuth login')).toBe('autodev/42-add-oauth-login');
    expect(taskBranchName('7f3a_b-2', '')).toBe('autodev/7f3a_b-2-task');
  });

  it.each(NASTY_TITLES.map((title) => [JSON.stringify(title).slice(0, 40), title]))(
    'title %s gives a branch name git accepts',
    async (_label, title) => {
      const branch = taskBranchName(1234, title);
      expect(isValidBranchName(branch)).toBe(true);
      expect(await gitAccepts(branch)).toBe(true);
    },
  );

  it('refuses task ids that cannot be used verbatim', () => {
    for (const id of ['', '../x', 'a/b', 'a b', '@{', '-1', 'x'.repeat(65), -1, 1.5]) {
      expect(() => taskBranchName(id, 'title')).toThrow(/cannot name a branch/);
    }
  });

  it('names the worktree directory after the task id', () => {
    expect(taskDirName(42)).toBe('task-42');
  });
});

describe('isValidBranchName', () => {
  const CASES = [
    'autodev/1-ok',
    'main',
    'a..b',
    'a@{b',
    '-x',
    'a//b',
    '/a',
    'a/',
    'a.',
    '.a',
    'a/.b',
    'a.lock',
    'a/b.lock/c',
    'a b',
    'a~b',
    'a^b',
    'a:b',
    'a?b',
    'a*b',
    'a[b',
    'a\\b',
    'a\u0001b',
    'a\u007fb',
    'ünïcode',
  ];

  it.each(CASES)('agrees with git check-ref-format --branch on %j', async (name) => {
    expect(isValidBranchName(name)).toBe(await gitAccepts(name));
  });

  it('refuses "@", which git branch refuses (check-ref-format --branch expands it to HEAD instead)', () => {
    expect(isValidBranchName('@')).toBe(false);
  });
});
