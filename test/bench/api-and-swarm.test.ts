/**
 * @module The API latency and swarm simulation benchmarks at a tiny size, so they cannot rot: the built `bench:api`
 * (it forks its own client process) on the test run's PostgreSQL server with 2,000 tasks, and the swarm simulation
 * in-process on both engines with three stories (simulated sessions and a stand-in human and merge, as in the bench).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { idealSchedule, lowerBound, readSwarmConfig, runSwarmSimulation } from '../../bench/swarm-simulation.js';
import { readApiBenchConfig } from '../../bench/api-latency.js';
import { execFileInGroup } from '../support/child-processes.js';
import { DIALECTS } from '../support/dialects.js';

const API_BENCH = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'bench', 'api-latency.js');
const WORKERS = { pm: 1, architect: 1, builder: 2, reviewer: 1, tester: 1, security: 1, devops: 1, bug_finder: 0 };

describe('bench:api at 2,000 tasks (built; the test run PostgreSQL server)', () => {
  it('times every route from a second process and prints the table', async () => {
    const adminUrl = inject('pgAdminUrl');
    if (!adminUrl) throw new Error('PostgreSQL is not available to this test run');
    const outcome = await execFileInGroup(process.execPath, [API_BENCH, '--tasks', '2000', '--requests', '3'], {
      env: { ...process.env, AUTODEV_BENCH_DATABASE_URL: adminUrl },
      timeout: 120_000,
    });
    expect(outcome.stderr).not.toContain('failed');
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toContain('API latency on PostgreSQL: 2,000 tasks, 40 stories');
    for (const route of [
      'GET /health',
      'GET /ready',
      'tasks: cursor pages (deep)',
      'tasks: status=in_progress',
      'tasks: type=implement_feature',
      'tasks: role=builder',
      'tasks: story=<id>',
      'task detail /api/tasks/:id',
      'tasks: /counts',
      'story board: first page',
      'story board: cursor pages (deep)',
      'story board: repo=repo-7, cursor pages',
    ]) {
      expect(outcome.stdout).toMatch(new RegExp(`${route.replace(/[()/*?=<>:]/g, '\\$&')}\\s+3\\s+\\d+\\.\\d`));
    }
  });

  it('refuses an unknown option or a size that is not a whole number', () => {
    expect(readApiBenchConfig(['--tasks', '5000'])).toEqual({ tasks: 5000, requests: 200 });
    expect(() => readApiBenchConfig(['--tasks', 'many'])).toThrow('--tasks needs a whole number');
    expect(() => readApiBenchConfig(['--rows', '5'])).toThrow('unknown option --rows');
  });
});

describe.each(DIALECTS)('%s: bench:swarm at three stories', (dialect) => {
  afterEach(() => {
    delete process.env.AUTODEV_BENCH_DATABASE_URL;
  });

  it('runs every story to completed and reports the makespan against a bound it cannot beat', async () => {
    const adminUrl = inject('pgAdminUrl');
    if (dialect === 'postgres' && adminUrl) process.env.AUTODEV_BENCH_DATABASE_URL = adminUrl;
    const result = await runSwarmSimulation({ stories: 3, engine: dialect, minuteMs: 5, seed: 3, workers: WORKERS });
    expect(result.storiesCompleted).toBe(3);
    expect(result.lowerBoundMs).toBeGreaterThan(0);
    expect(result.makespanMs).toBeGreaterThanOrEqual(result.lowerBoundMs);
    expect(result.idealMs).toBeGreaterThanOrEqual(result.lowerBoundMs);
    expect(result.report).toContain(`3/3 stories through the real queue and story workflow on ${dialect}`);
    expect(result.report).toMatch(/ratio makespan \/ lower bound\s+\d+\.\d{3}/);
  });
});

describe('the swarm lower bound', () => {
  const session = (taskId: number, type: string, role: string, workflowId: number, busyMs: number) => ({
    taskId,
    type,
    role: role as never,
    workflowId,
    busyMs,
    pickupMs: 0,
    provider: 'primary',
  });

  it('is the longest story path or the busiest role per worker, whichever is larger', () => {
    const story = (id: number) => [
      session(id * 10 + 1, 'create_user_story', 'pm', id, 10),
      session(id * 10 + 2, 'write_spec', 'architect', id, 20),
      session(id * 10 + 3, 'implement_feature', 'builder', id, 100),
      session(id * 10 + 4, 'review_mr', 'reviewer', id, 30),
      session(id * 10 + 5, 'run_tests', 'tester', id, 50),
      session(id * 10 + 6, 'security_scan', 'security', id, 40),
      session(id * 10 + 7, 'deploy', 'devops', id, 5),
    ];
    const one = lowerBound(story(1), WORKERS);
    expect(one.criticalPathMs).toBe(10 + 20 + 100 + 50 + 5);
    const four = lowerBound([1, 2, 3, 4].flatMap(story), WORKERS);
    expect(four).toMatchObject({ criticalPathMs: 185, capacityMs: 200, busiestRole: 'builder' });
    // The one tester starts after the fastest way to the checks (130), runs 4 x 50, and a deploy (5) still follows.
    expect(four.stageMs).toBe(130 + 200 + 5);
  });

  it('replays the same sessions with zero orchestration cost, FIFO per role', () => {
    const story = (id: number) => [
      session(id * 10 + 1, 'create_user_story', 'pm', id, 10),
      session(id * 10 + 2, 'write_spec', 'architect', id, 20),
      session(id * 10 + 3, 'implement_feature', 'builder', id, 100),
      session(id * 10 + 4, 'review_mr', 'reviewer', id, 30),
      session(id * 10 + 5, 'run_tests', 'tester', id, 50),
      session(id * 10 + 6, 'security_scan', 'security', id, 40),
      session(id * 10 + 7, 'deploy', 'devops', id, 5),
    ];
    expect(idealSchedule(story(1), WORKERS)).toBe(185);
    // Two stories: the second's spec waits for the one architect (30..50), its build runs beside the first (50..150),
    // its tests wait for the one tester (free at 180): 180 + 50, then its deploy: 235.
    expect(idealSchedule([...story(1), ...story(2)], WORKERS)).toBe(235);
  });

  it('reads its options and refuses a wrong one', () => {
    expect(readSwarmConfig([])).toMatchObject({ stories: 120, engine: 'sqlite', minuteMs: 60 });
    expect(readSwarmConfig(['--stories', '7', '--engine', 'postgres'])).toMatchObject({
      stories: 7,
      engine: 'postgres',
    });
    expect(() => readSwarmConfig(['--engine', 'mysql'])).toThrow('--engine is sqlite or postgres');
  });
});
