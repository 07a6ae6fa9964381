/**
 * @module Names of task branches and worktree directories, pure: `autodev/<task-id>-<slug>` from a task's id and title.
 * The slug is lowercase ASCII and dashes, at most 40 characters, never empty, and always a valid git ref component.
 */
import { AutodevError } from '../errors.js';

/** Every branch Auto-Dev creates lives under this prefix; nothing outside it is ever a task branch. */
export const TASK_BRANCH_PREFIX = 'autodev/';
export const MAX_SLUG_LENGTH = 40;
const FALLBACK_SLUG = 'task';
const SAFE_TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * A short, ref-safe slug of a title: accents folded (`Café` -> `cafe`), anything else that is not `a-z0-9` becomes a
 * dash, runs of dashes collapse, at most 40 characters (cut at a word boundary when one is near), `task` when empty.
 *
 * ### Example
 * ```ts
 * slugify('Fix: login fails for ../../etc @{now}') // 'fix-login-fails-for-etc-now'
 * ```
 */
export function slugify(title: string, maxLength = MAX_SLUG_LENGTH): string {
  const words = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  let slug = words;
  if (slug.length > maxLength) {
    slug = slug.slice(0, maxLength);
    const lastDash = slug.lastIndexOf('-');
    if (words[maxLength] !== '-' && lastDash >= maxLength / 2) slug = slug.slice(0, lastDash);
    slug = slug.replace(/-+$/g, '');
  }
  return slug === '' ? FALLBACK_SLUG : slug;
}

/** The task id as it appears in names; throws VALIDATION_FAILED for ids that could not be used verbatim. */
export function taskIdSegment(taskId: string | number): string {
  const segment = String(taskId);
  if (typeof taskId === 'number' ? !Number.isSafeInteger(taskId) || taskId < 0 : !SAFE_TASK_ID.test(segment)) {
    throw new AutodevError(
      'VALIDATION_FAILED',
      `task id ${JSON.stringify(segment)} cannot name a branch: use letters, digits, "_" and "-" (at most 64)`,
    );
  }
  return segment;
}

/**
 * The branch a writable task works on.
 *
 * ### Example
 * ```ts
 * taskBranchName(42, 'Add OAuth login') // 'autodev/42-add-oauth-login'
 * ```
 */
export function taskBranchName(taskId: string | number, title: string): string {
  return `${TASK_BRANCH_PREFIX}${taskIdSegment(taskId)}-${slugify(title)}`;
}

/** The directory name (under the worktrees base dir) of a task's checkout, e.g. `task-42`. */
export function taskDirName(taskId: string | number): string {
  return `task-${taskIdSegment(taskId)}`;
}

/**
 * Whether `name` is a valid branch name by git's rules (`git check-ref-format --branch`), written out so
 * names can be checked without a process: no `..`, `@{`, control characters, space, `~^:?*[\`, no component starting
 * with `.` or ending in `.lock`, no leading `-`, no empty component, not ending in `.` or `/`, not `@`.
 */
export function isValidBranchName(name: string): boolean {
  if (name === '' || name === '@' || name.startsWith('-')) return false;
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.')) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return name.split('/').every((part) => part !== '' && !part.startsWith('.') && !part.endsWith('.lock'));
}
