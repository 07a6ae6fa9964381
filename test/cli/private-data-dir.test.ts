/**
 * @module The data dir is private: created 0700 with the SQLite files 0600 (by the BUILT cli, `npm run build`
 * first), and a data dir an earlier version left 0755 with a 0644 database is tightened at start, with a line saying
 * so. A shared sticky directory is never chmodded.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeDataDirPrivate } from '../../src/cli/private-data-dir.js';
import { AUTODEV_BIN } from '../support/built-cli.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function tempRoot(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-private-'));
  roots.push(root);
  return root;
}

const modeOf = (file: string) => fs.statSync(file).mode & 0o7777;

function runAutodev(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  delete env.DATABASE_URL;
  for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
  return new Promise((resolve) => {
    execFile(process.execPath, [AUTODEV_BIN, ...args], { env, timeout: 20_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

describe('makeDataDirPrivate', () => {
  it('creates a missing data dir (and its parents) 0700', () => {
    const dataDir = path.join(tempRoot(), 'a', 'data');
    expect(makeDataDirPrivate(dataDir)).toEqual([]);
    expect(modeOf(dataDir)).toBe(0o700);
  });

  it('tightens a 0755 data dir and a 0644 database, -wal, -shm and admin token, saying what it changed', () => {
    const dataDir = path.join(tempRoot(), 'data');
    fs.mkdirSync(dataDir, { mode: 0o755 });
    fs.chmodSync(dataDir, 0o755);
    for (const name of ['autodev.db', 'autodev.db-wal', 'autodev.db-shm', 'admin-token', 'notes.txt']) {
      fs.writeFileSync(path.join(dataDir, name), 'x', { mode: 0o644 });
      fs.chmodSync(path.join(dataDir, name), 0o644);
    }
    const notes = makeDataDirPrivate(dataDir);
    expect(notes[0]).toBe(`data dir ${dataDir} was 0755; made it 0700 (it holds the database, tokens and transcripts)`);
    expect(notes.slice(1)).toEqual(
      ['autodev.db', 'autodev.db-wal', 'autodev.db-shm', 'admin-token'].map(
        (name) => `${path.join(dataDir, name)} was 0644; made it 0600`,
      ),
    );
    expect(modeOf(dataDir)).toBe(0o700);
    for (const name of ['autodev.db', 'autodev.db-wal', 'autodev.db-shm', 'admin-token'])
      expect(modeOf(path.join(dataDir, name)), name).toBe(0o600);
    // Not Auto-Dev's private file: left as it was.
    expect(modeOf(path.join(dataDir, 'notes.txt'))).toBe(0o644);
    // Already private: nothing to say the second time.
    expect(makeDataDirPrivate(dataDir)).toEqual([]);
  });

  it('never chmods a shared sticky directory, and says to use one of your own', () => {
    const shared = path.join(tempRoot(), 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o1777);
    const notes = makeDataDirPrivate(shared);
    expect(modeOf(shared)).toBe(0o1777);
    expect(notes).toEqual([
      `data dir ${shared} is 0777 and shared (sticky); it holds the database and the admin token: use a directory of your own (--data-dir)`,
    ]);
  });
});

describe('the built cli (SQLite)', () => {
  it('creates the data dir 0700 and the database, -wal and -shm 0600', async () => {
    const dataDir = path.join(tempRoot(), 'fresh', 'data');
    const outcome = await runAutodev(['--data-dir', dataDir, 'tasks', 'list']);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    expect(modeOf(dataDir)).toBe(0o700);
    const files = fs.readdirSync(dataDir).filter((name) => name.startsWith('autodev.db'));
    expect(files).toContain('autodev.db');
    for (const name of files) expect(modeOf(path.join(dataDir, name)), name).toBe(0o600);
  });

  it('tightens a data dir left 0755 with a 0644 database at start, with a line on stderr', async () => {
    const dataDir = path.join(tempRoot(), 'old');
    const first = await runAutodev(['--data-dir', dataDir, 'tasks', 'list']);
    expect(first.code).toBe(0);
    fs.chmodSync(dataDir, 0o755);
    fs.chmodSync(path.join(dataDir, 'autodev.db'), 0o644);
    const outcome = await runAutodev(['--data-dir', dataDir, 'tasks', 'list']);
    expect(outcome.code).toBe(0);
    expect(outcome.stderr.trimEnd().split('\n')).toEqual([
      `autodev: data dir ${dataDir} was 0755; made it 0700 (it holds the database, tokens and transcripts)`,
      `autodev: ${path.join(dataDir, 'autodev.db')} was 0644; made it 0600`,
    ]);
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(path.join(dataDir, 'autodev.db'))).toBe(0o600);
  });
});
