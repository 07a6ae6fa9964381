/**
 * @module Keeps the data dir private: it holds the database, the admin token, session transcripts and worktrees, so
 * it is created 0700 and the SQLite files in it (`autodev.db`, `-wal`, `-shm`) and the admin token are 0600. A data
 * dir left looser by an earlier version (0755, a 0644 database) is tightened, and each change is reported so the
 * caller can log it. A directory this user does not own, or a shared sticky one (`/tmp`), is never chmodded: that
 * is reported instead.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The files in the data dir that only their owner may read. */
export const PRIVATE_DATA_FILES = ['autodev.db', 'autodev.db-wal', 'autodev.db-shm', 'admin-token'] as const;

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const GROUP_OTHER_BITS = 0o077;
const STICKY_BIT = 0o1000;

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * Creates `dataDir` 0700 (with its missing parents) or tightens it, and tightens the private files in it. Returns one
 * line per change or refusal, e.g. `data dir /srv/autodev was 0755; made it 0700 (...)`; empty when all was private.
 *
 * ### Examples
 * ```ts
 * for (const note of makeDataDirPrivate('/srv/autodev')) logger.warn(note);
 * ```
 */
export function makeDataDirPrivate(dataDir: string): string[] {
  const notes: string[] = [];
  fs.mkdirSync(dataDir, { recursive: true, mode: DIR_MODE });
  const dir = fs.statSync(dataDir);
  if ((dir.mode & GROUP_OTHER_BITS) !== 0) {
    const ownedByMe = process.getuid === undefined || dir.uid === process.getuid();
    if (!ownedByMe || (dir.mode & STICKY_BIT) !== 0) {
      notes.push(
        `data dir ${dataDir} is ${octal(dir.mode)} and shared (${ownedByMe ? 'sticky' : 'owned by another user'}); ` +
          'it holds the database and the admin token: use a directory of your own (--data-dir)',
      );
    } else {
      fs.chmodSync(dataDir, DIR_MODE);
      notes.push(
        `data dir ${dataDir} was ${octal(dir.mode)}; made it 0700 (it holds the database, tokens and transcripts)`,
      );
    }
  }
  for (const name of PRIVATE_DATA_FILES) {
    const file = path.join(dataDir, name);
    let info: fs.Stats;
    try {
      info = fs.lstatSync(file);
    } catch {
      continue;
    }
    if (!info.isFile() || (info.mode & GROUP_OTHER_BITS) === 0) continue;
    fs.chmodSync(file, FILE_MODE);
    notes.push(`${file} was ${octal(info.mode)}; made it 0600`);
  }
  return notes;
}
