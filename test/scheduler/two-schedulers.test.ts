/**
 * @module Two real `autodev serve scheduler` processes (the built CLI) on one PostgreSQL database fire every slot
 * exactly once: ten per-second schedules over two repositories, run until at least 50 slots have fired, then each
 * slot has one run row and one task per repository, and both processes fired some (they really raced).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AUTODEV_BIN } from '../support/built-cli.js';
import { killGroup, spawnInGroup } from '../support/child-processes.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';

const SCHEDULES = 10;
const MIN_SLOTS = 50;

describe.each(DIALECTS.filter((d) => d === 'postgres'))('%s: two scheduler processes', (dialect) => {
  const t = useTestDatabase(dialect);
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) killGroup(child);
  });

  function startScheduler(config: string): Promise<ChildProcess> {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', DATABASE_URL: t.databaseUrl };
    for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
    const child = spawnInGroup(
      process.execPath,
      [AUTODEV_BIN, '--data-dir', t.dir, '--config', config, 'serve', 'scheduler'],
      {
        env,
        cwd: t.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('scheduler:')) resolve(child);
      });
      child.once('exit', (code) => reject(new Error(`scheduler exited ${code} before it was up: ${out} ${err}`)));
    });
  }

  it(`fires each of at least ${MIN_SLOTS} slots exactly once`, { timeout: 60_000 }, async () => {
    const db = t.handle.db;
    for (const name of ['api', 'web']) {
      await db
        .insertInto('repositories')
        .values({
          name,
          forge: 'local',
          location: `/srv/${name}`,
          default_branch: 'main',
          test_command: null,
          deploy_command: null,
          lint_command: null,
          settings: '{}',
          created_at: 1,
          updated_at: 1,
        })
        .execute();
    }
    const config = path.join(t.dir, 'settings.yaml');
    const lines = ['scheduler:', '  tick_seconds: 0.5', 'schedules:'];
    for (let i = 1; i <= SCHEDULES; i++) {
      lines.push(
        `  every-second-${i}:`,
        `    cron: "* * * * * *"`,
        '    task_type: static_analysis',
        '    enabled: true',
      );
    }
    fs.writeFileSync(config, `${lines.join('\n')}\n`);

    const schedulers = await Promise.all([startScheduler(config), startScheduler(config)]);
    const deadline = Date.now() + 40_000;
    for (;;) {
      const { n } = await db
        .selectFrom('schedule_runs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      if (Number(n) >= MIN_SLOTS + 2 * SCHEDULES) break;
      if (Date.now() > deadline) throw new Error(`only ${n} slots fired in 40 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    await Promise.all(
      schedulers.map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', (code) => {
              expect(code).toBe(0);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );

    const runs = await db.selectFrom('schedule_runs').selectAll().execute();
    const tasks = await db.selectFrom('tasks').selectAll().execute();
    expect(runs.length).toBeGreaterThanOrEqual(MIN_SLOTS);
    const slots = new Set(runs.map((run) => `${run.schedule_name}@${run.slot_at}`));
    expect(slots.size).toBe(runs.length);
    for (const run of runs) expect(Number(run.slot_at) % 1000).toBe(0);
    // One task per repository per fired slot, named by the slot, and no task for a slot that did not fire.
    expect(tasks).toHaveLength(runs.length * 2);
    const taskSlots = new Map<string, number>();
    for (const task of tasks) {
      const payload = JSON.parse(task.payload) as { schedule: string; slot_at: string };
      const key = `${payload.schedule}@${Date.parse(payload.slot_at)}`;
      taskSlots.set(key, (taskSlots.get(key) ?? 0) + 1);
    }
    expect([...taskSlots.keys()].sort()).toEqual([...slots].sort());
    expect(new Set(taskSlots.values())).toEqual(new Set([2]));
    for (const run of runs) expect((JSON.parse(run.task_ids) as number[]).length).toBe(2);
    // Both processes fired slots: they raced for them, and the database decided each race once.
    expect(new Set(runs.map((run) => run.fired_by)).size).toBe(2);
  });
});
