/**
 * @module `autodev demo` stopped with Ctrl-C (SIGINT) in the middle of the story, on SQLite: it exits 130 saying how
 * to resume, leaves no task leased and no agent running, and the next run resumes the same story to the end without
 * duplicate tasks, its summary the database's. Bad input (on SQLite and PostgreSQL) (a data dir that is a file, a bad --replay-delay) exits 2 with one line
 * and writes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/dialects.js';
import {
  expectedSummary,
  gitIn,
  runDemoCli,
  runSampleTests,
  startDemoCli,
  storyFigures,
  summaryFigures,
} from './demo-fixtures.js';

describe.each(DIALECTS)('%s: autodev demo interrupted and resumed', (dialect) => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t?.drop();
  });

  // A whole demo run and a half: on SQLite (demo.test.ts runs the whole story on PostgreSQL), the resume's SQL runs
  // on both in the workflow's and the queue's own tests and in crash-each-stage.test.ts.
  if (dialect === 'sqlite') {
    it('Ctrl-C during the builder stage stops cleanly (task released, agents stopped); the next run resumes the story', async () => {
      // Slow enough that the builder's session is still playing when the signal arrives.
      const running = await startDemoCli(t, t.dir, /▶ stage implement: /, ['--replay-delay', '150']);
      running.child.kill('SIGINT');
      const code = await running.exited;
      const output = running.output();
      expect(code, output).toBe(130);
      expect(output).toMatch(
        /stopped: running tasks went back to the queue; run "autodev demo" again .* to resume story #1/,
      );

      const db = t.handle.db;
      const leased = await db
        .selectFrom('tasks')
        .select(['id', 'status'])
        .where('status', '=', 'in_progress')
        .execute();
      expect(leased).toEqual([]);
      const agents = await db.selectFrom('agents').select(['instance_id', 'status']).execute();
      expect(agents.length).toBeGreaterThan(0);
      expect(agents.filter((a) => a.status !== 'stopped')).toEqual([]);
      const running_ = await db.selectFrom('sessions').select('id').where('status', '=', 'running').execute();
      expect(running_).toEqual([]);
      // The builder's task was given back, not failed: the attempt does not count.
      const released = await db.selectFrom('events').select('subject_id').where('kind', '=', 'task.released').execute();
      expect(released.length).toBeGreaterThan(0);
      const builder = await db
        .selectFrom('tasks')
        .selectAll()
        .where('type', '=', 'implement_feature')
        .executeTakeFirstOrThrow();
      expect(builder).toMatchObject({ status: 'pending', attempts: 0 });
      const workflow = await db.selectFrom('workflows').selectAll().executeTakeFirstOrThrow();
      expect(workflow.status).toBe('running');

      const resumed = await runDemoCli(t, t.dir);
      expect(resumed.code, `${resumed.stdout}\n${resumed.stderr}`).toBe(0);
      expect(resumed.stdout).toContain(`resuming the unfinished demo story #${workflow.id}`);
      expect(resumed.stdout).not.toContain('sample-repo-2');

      const done = await db.selectFrom('workflows').selectAll().execute();
      expect(done.map((w) => [w.id, w.status])).toEqual([[workflow.id, 'completed']]);
      const tasks = await db.selectFrom('tasks').select(['type', 'status']).orderBy('id').execute();
      expect(tasks.map((task) => task.type)).toEqual([
        'create_user_story',
        'write_spec',
        'implement_feature',
        'review_mr',
        'run_tests',
        'security_scan',
        'implement_fix',
        'review_mr',
        'run_tests',
        'security_scan',
        'merge',
        'deploy',
      ]);
      expect(tasks.every((task) => task.status === 'completed')).toBe(true);
      // The closing summary counts the whole story, both runs' sessions: the database's figures.
      expect(summaryFigures(resumed)).toEqual(expectedSummary(await storyFigures(db, workflow.id)));
      const repo = path.join(fs.realpathSync(t.dir), 'demo', 'sample-repo');
      expect(gitIn(repo, 'rev-list', '--parents', '-n', '1', 'main').split(' ')).toHaveLength(3);
      expect(runSampleTests(repo)).toEqual({ code: 0, pass: 7, fail: 0 });
    }, 180_000);
  }

  it('a --data-dir that is a file: exit 2, one line, nothing written', async () => {
    const file = path.join(t.dir, 'not-a-directory');
    fs.writeFileSync(file, 'keep me\n');
    const before = fs.readdirSync(t.dir).sort();
    const run = await runDemoCli(t, file, [], 20_000);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`autodev: --data-dir ${file} is not a directory\n`);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me\n');
    expect(fs.readdirSync(t.dir).sort()).toEqual(before);
  });

  it('a bad --replay-delay: exit 2, one line, the data dir is not created', async () => {
    const dataDir = path.join(t.dir, 'never-created');
    for (const value of ['abc', '-5', '99999']) {
      const run = await runDemoCli(t, dataDir, ['--replay-delay', value], 20_000);
      expect(run.code).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr).toMatch(/^autodev: --replay-delay \(milliseconds\) must be a whole number from 0 to 5000/);
    }
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});
