/**
 * `autodev agents scale|restart|status` across processes: two real `autodev serve agent:tester` processes (the BUILT
 * cli, `npm run build` first; no provider, they only need to converge) on one database share the role's replicas:
 * scale 2 -> 0 -> 1 and a restart, read back through `agents status --json`, `GET`-free, and their lifecycle lines
 * through `autodev logs`. Both databases.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { AUTODEV_BIN } from '../support/built-cli.js';
import { spawnInGroup } from '../support/child-processes.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';
import { shareOf } from '../../src/agents/agent-processes.js';

interface RoleStatus {
  role: string;
  replicas: number | null;
  running: number;
  restart_generation: number;
  processes: { pid: number; workers: { instance_id: string }[] }[];
}

const CONVERGE = { timeout: 60_000, interval: 500 };

describe('shareOf', () => {
  it('splits replicas evenly over the live processes, the first ones taking the remainder', () => {
    expect(['a', 'b', 'c'].map((id) => shareOf(id, ['a', 'b', 'c'], 4))).toEqual([2, 1, 1]);
    expect(['a', 'b'].map((id) => shareOf(id, ['a', 'b'], 1))).toEqual([1, 0]);
    expect(shareOf('x', ['a', 'b'], 5)).toBe(0);
    expect(shareOf('a', ['a'], 0)).toBe(0);
  });
});

describe.each(DIALECTS)('%s: agents across processes', (dialect) => {
  let t: TestDatabase;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    t = await createTestDatabase(dialect);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: t.dir, LOG_LEVEL: 'info' };
    if (t.databaseUrl) env.DATABASE_URL = t.databaseUrl;
    const dataDir = t.sqlitePath ? path.dirname(t.sqlitePath) : t.dir;
    for (let i = 0; i < 2; i++) {
      children.push(
        spawnInGroup(process.execPath, [AUTODEV_BIN, '--data-dir', dataDir, 'serve', 'agent:tester'], {
          env,
          cwd: t.dir,
          stdio: 'ignore',
        }),
      );
    }
  });
  afterAll(async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    await t.drop();
  });

  const cli = (...args: string[]) => runCliInProcessOn(t, args);
  async function tester(): Promise<RoleStatus> {
    const outcome = await cli('agents', 'status', '--json');
    expect(outcome.code, outcome.stderr).toBe(0);
    return (JSON.parse(outcome.stdout) as { roles: RoleStatus[] }).roles.find((r) => r.role === 'tester')!;
  }
  const perProcess = (status: RoleStatus) => status.processes.map((p) => p.workers.length).sort();

  it('converges on scale 2, 0 and 1 across both processes, and restarts every worker of the role', async () => {
    // Never scaled: one worker in each process that runs the role.
    await expect.poll(async () => perProcess(await tester()), CONVERGE).toEqual([1, 1]);

    expect((await cli('agents', 'scale', 'tester', '2')).code).toBe(0);
    await expect.poll(async () => perProcess(await tester()), CONVERGE).toEqual([1, 1]);
    expect((await tester()).replicas).toBe(2);

    expect((await cli('agents', 'scale', 'tester', '0')).code).toBe(0);
    await expect.poll(async () => (await tester()).running, CONVERGE).toBe(0);
    expect(perProcess(await tester())).toEqual([0, 0]); // both processes still run, with no tester worker

    expect((await cli('agents', 'scale', 'tester', '1')).code).toBe(0);
    await expect.poll(async () => perProcess(await tester()), CONVERGE).toEqual([0, 1]);
    const before = (await tester()).processes.flatMap((p) => p.workers.map((w) => w.instance_id));
    expect(before).toHaveLength(1);

    const restart = await cli('agents', 'restart', 'tester');
    expect(restart.stdout).toMatch(/generation 1/);
    await expect
      .poll(async () => {
        const status = await tester();
        const now = status.processes.flatMap((p) => p.workers.map((w) => w.instance_id));
        return now.length === 1 && now[0] !== before[0];
      }, CONVERGE)
      .toBe(true);
    expect((await tester()).restart_generation).toBe(1);

    const text = await cli('agents', 'status');
    expect(text.stdout).toMatch(/^tester\s+desired 1\s+running 1\s+\S+:\d+ \d \(heartbeat/m);

    // Every process recorded its lifecycle lines in the store: `autodev logs` reads them across processes.
    const logs = await cli('logs', '--agent', 'tester', '--json');
    const lines = logs.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { message: string; pid: number });
    expect(new Set(lines.filter((l) => l.message === 'starting agent').map((l) => l.pid)).size).toBe(2);
    expect(lines.map((l) => l.message)).toContain('stopping agent');
  });
});
