/**
 * @module SQLite's wake-up hears another connection's commit through the watched directory (inotify on the file and
 * its WAL), not its safety-net check: that check is set to ten minutes here, so a wake-up inside the test's timeout
 * can only come from the watch. (PostgreSQL's NOTIFY and both engines across processes: cross-process-wakeup.test.ts.)
 */
import SqliteDatabase from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createTaskWakeup, type TaskWakeup } from '../../src/queue/task-wakeup.js';
import { useTestDatabase } from '../support/dialects.js';

const NEVER_MS = 600_000;

describe('sqlite: wake-up on another connection commit', () => {
  const t = useTestDatabase('sqlite');
  let wakeup: TaskWakeup | undefined;
  let other: SqliteDatabase.Database | undefined;

  afterEach(async () => {
    await wakeup?.close();
    other?.close();
  });

  it('a commit by another connection wakes a waiter through the watched WAL', async () => {
    wakeup = createTaskWakeup(t.handle, { watchedCheckMs: NEVER_MS });
    let woken = false;
    const waiting = wakeup.wait(NEVER_MS).then(() => (woken = true));
    expect(woken).toBe(false);

    other = new SqliteDatabase(t.sqlitePath!);
    other.exec('create table if not exists wakeup_probe (n integer)');
    await waiting;
    expect(woken).toBe(true);
  });

  it('keeps hearing commits after it went idle and started again', async () => {
    wakeup = createTaskWakeup(t.handle, { watchedCheckMs: NEVER_MS });
    other = new SqliteDatabase(t.sqlitePath!);
    other.exec('create table if not exists wakeup_probe (n integer)');
    for (const round of [1, 2, 3]) {
      const waiting = wakeup.wait(NEVER_MS);
      other.prepare('insert into wakeup_probe (n) values (?)').run(round);
      await waiting;
    }
  });
});
