/**
 * @module Makes a directory tree read-only (`chmod -R a-w`) or owner-writable again, without following symlinks.
 * File modes stop non-root processes; the sandbox's read-only bind stops everyone (see worktrees.ts).
 */
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const WRITE_BITS = 0o222;
const OWNER_WRITE = 0o200;

/**
 * `writable: false` clears every write bit (a-w); `writable: true` restores the owner's (u+w).
 * Directories are made writable before their entries and read-only after them, so the walk never locks itself out.
 */
export async function setTreeWritable(root: string, writable: boolean): Promise<void> {
  const info = await lstat(root);
  if (info.isSymbolicLink()) return;
  const mode = info.mode & 0o7777;
  const target = writable ? mode | OWNER_WRITE : mode & ~WRITE_BITS;
  if (info.isDirectory()) {
    if (writable && target !== mode) await chmod(root, target);
    for (const entry of await readdir(root)) await setTreeWritable(join(root, entry), writable);
    if (!writable && target !== mode) await chmod(root, target);
  } else if (target !== mode) {
    await chmod(root, target);
  }
}
