/**
 * End to end: the BUILT cli (`npm run build` first) run as a user runs it, on SQLite and on PostgreSQL.
 * Every bad input must exit 2 with exactly one line on stderr and leave the database as it was.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TASK_TYPES } from '../../src/domain/roles.js';
import type { TaskJson } from '../../src/queue/task-record.js';
import { execFileInGroup, spawnInGroup } from '../support/child-processes.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { runCliInProcess } from '../support/in-process-cli.js';
import { freePort, withDatabase } from '../support/postgres-cluster.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = path.join(ROOT, 'dist', 'cli');
const AUTODEV = path.join(BIN, 'autodev.js');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a user with no Auto-Dev settings of their own. */
function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AUTODEV_') || name === 'DATABASE_URL' || name === 'LOG_LEVEL') delete env[name];
  }
  return { ...env, ...extra };
}

function runNode(script: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Outcome> {
  return execFileInGroup(process.execPath, [script, ...args], { env, cwd, timeout: 20_000 });
}

function stderrLines(outcome: Outcome): string[] {
  return outcome.stderr.split('\n').filter((line) => line.length > 0);
}

beforeAll(() => {
  if (!fs.existsSync(AUTODEV)) throw new Error(`${AUTODEV} is missing; run "npm run build" before these tests`);
});

describe('without a database', () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-cli-'));
  afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

  it('--version prints the package version', async () => {
    const outcome = await runNode(AUTODEV, ['--version'], cleanEnv(), cwd);
    expect(outcome).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('tasks types lists every type by role, also as JSON', async () => {
    const text = await runNode(AUTODEV, ['tasks', 'types'], cleanEnv(), cwd);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^reviewer\s+review_mr$/m);
    expect(text.stdout).toMatch(
      /^pm\s+analyze_repo, create_epic, create_user_story, prioritize_backlog, build_product$/m,
    );
    const json = await runNode(AUTODEV, ['tasks', 'types', '--json'], cleanEnv(), cwd);
    const parsed = JSON.parse(json.stdout) as { task_types: { type: string; role: string }[] };
    expect(parsed.task_types).toContainEqual({ type: 'publish_product', role: 'devops' });
    expect(parsed.task_types.map((t) => t.type)).toEqual(TASK_TYPES);
  });

  it('an unknown command or option is a usage error: exit 2, one line naming what to run', async () => {
    for (const args of [
      ['tsks'],
      ['tasks', 'list', '--bogus'],
      ['tasks', 'create'],
      ['--log-level', 'loud', 'tasks', 'types'],
    ]) {
      const outcome = await runNode(AUTODEV, args, cleanEnv(), cwd);
      expect(outcome.code, args.join(' ')).toBe(2);
      expect(stderrLines(outcome), args.join(' ')).toHaveLength(1);
      expect(outcome.stderr).toMatch(/^autodev: .*--help" for usage\n$/);
    }
  });

  it('serve with an unknown component: exit 2, one line naming the components', async () => {
    for (const [script, args] of [[AUTODEV, ['serve', 'everything']]] as const) {
      const outcome = await runNode(script, args, cleanEnv(), cwd);
      expect(outcome.code).toBe(2);
      expect(stderrLines(outcome)).toHaveLength(1);
      expect(outcome.stderr).toMatch(
        /^autodev: unknown component "everything"; use dashboard, webhook, scheduler or agent:ROLE/,
      );
      expect(outcome.stdout).toBe('');
    }
  });

  it('config validate: a good file is valid, a bad one names file, key and reason', async () => {
    const good = path.join(cwd, 'good.yaml');
    fs.writeFileSync(good, 'server:\n  port: 9000\n');
    expect(await runNode(AUTODEV, ['config', 'validate', good], cleanEnv(), cwd)).toEqual({
      code: 0,
      stdout: `valid: ${good}\n`,
      stderr: '',
    });
    const bad = path.join(cwd, 'bad.yaml');
    fs.writeFileSync(bad, 'server:\n  port: 9000\nqueue:\n  max_attempts: zero\n');
    const outcome = await runNode(AUTODEV, ['config', 'validate', 'bad.yaml'], cleanEnv(), cwd);
    expect(outcome.code).toBe(2);
    expect(outcome.stdout).toBe('');
    expect(outcome.stderr).toBe(`autodev: ${bad}: queue.max_attempts: expected a number, got "zero"\n`);
    const broken = path.join(cwd, 'broken.yaml');
    fs.writeFileSync(broken, 'server: [\n');
    const yamlOutcome = await runNode(AUTODEV, ['config', 'validate', broken], cleanEnv(), cwd);
    expect(yamlOutcome.code).toBe(2);
    expect(stderrLines(yamlOutcome)).toEqual([
      expect.stringMatching(/^autodev: .*broken\.yaml: invalid YAML at line \d+/),
    ]);
  });

  it('config validate with no file checks the effective settings, including the environment', async () => {
    const dataDir = path.join(cwd, 'data');
    const ok = await runNode(AUTODEV, ['config', 'validate', '--data-dir', dataDir], cleanEnv(), cwd);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^valid: shipped defaults: .*config\/settings\.yaml\n$/);
    const bad = await runNode(
      AUTODEV,
      ['config', 'validate', '--data-dir', dataDir],
      cleanEnv({ AUTODEV_SERVER__PORT: 'x' }),
      cwd,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      'autodev: environment variable AUTODEV_SERVER__PORT: server.port: expected a number, got "x"\n',
    );
  });
});

describe.each(DIALECTS)('%s: autodev CLI', (dialect) => {
  let t: TestDatabase;
  let cwd: string;

  beforeAll(async () => {
    t = await createTestDatabase(dialect);
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-cli-cwd-'));
  });
  afterAll(async () => {
    await t?.drop();
    if (cwd) fs.rmSync(cwd, { recursive: true, force: true });
  });

  /** The test database: SQLite via --data-dir (its file is <dir>/autodev.db), PostgreSQL via DATABASE_URL. */
  const env = (extra: Record<string, string> = {}) => cleanEnv({ DATABASE_URL: t.databaseUrl, ...extra });
  const autodev = (args: readonly string[], extra?: Record<string, string>) =>
    runNode(AUTODEV, ['--data-dir', t.dir, ...args], env(extra), cwd);
  const autodevInProcess = (args: readonly string[]) =>
    runCliInProcess(['--data-dir', t.dir, ...args], { env: env({ LOG_LEVEL: 'silent' }), cwd });
  /** `--json` output of a command run in process (the binary's own output is checked by the spawned tests). */
  const json = async <T>(args: readonly string[]): Promise<T> => {
    const outcome = await autodevInProcess([...args, '--json']);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    return JSON.parse(outcome.stdout) as T;
  };
  const counts = async () => {
    const count = async (table: 'tasks' | 'events') =>
      Number(
        (
          await t.handle.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return { tasks: await count('tasks'), events: await count('events') };
  };

  // The first test and `claude-tasks` run the built binaries; the others run the same commands in process.
  describe('tasks: happy paths', () => {
    it('create prints the new task; --json gives the task as the API shows it', async () => {
      const created = await autodev([
        'tasks',
        'create',
        '--type',
        'build_product',
        '--priority',
        '8',
        '--payload',
        '{"idea": "Stripe webhook handler", "target": "gumroad"}',
      ]);
      expect(created.stderr).toBe('');
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(/^created task \d+ \(build_product, priority 8, pending\)\n$/);

      const task = await json<TaskJson>(['tasks', 'create', '--type', 'deploy', '--payload', '{"env": "staging"}']);
      expect(task).toMatchObject({
        type: 'deploy',
        status: 'pending',
        priority: 5,
        payload: { env: 'staging' },
        attempts: 0,
        max_attempts: 3,
        created_by: 'cli',
      });
      const row = await t.handle.db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
      expect(row.created_by).toBe('cli');
    });

    it('list shows a table, filters by status and type, and --json parses with next_cursor', async () => {
      const table = await autodevInProcess(['tasks', 'list']);
      expect(table.code).toBe(0);
      const [header, ...rows] = table.stdout.trimEnd().split('\n');
      expect(header?.split(/\s+/)).toEqual(['ID', 'TYPE', 'STATUS', 'PRIORITY', 'ATTEMPTS', 'AGE']);
      expect(rows.length).toBeGreaterThanOrEqual(2);
      expect(rows[0]).toMatch(/^\d+\s+deploy\s+pending\s+5\s+0\/3\s+\d+[smhd]$/);

      const all = await json<{ tasks: TaskJson[]; next_cursor: string | null }>(['tasks', 'list']);
      expect(all.tasks.map((task) => task.type).slice(0, 2)).toEqual(['deploy', 'build_product']);
      expect(all.next_cursor).toBeNull();

      const page = await json<{ tasks: TaskJson[]; next_cursor: string | null }>(['tasks', 'list', '--limit', '1']);
      expect(page.tasks).toHaveLength(1);
      expect(page.next_cursor).toEqual(expect.any(String));
      const next = await json<{ tasks: TaskJson[] }>(['tasks', 'list', '--limit', '1', '--cursor', page.next_cursor!]);
      expect(next.tasks[0]?.id).toBeLessThan(page.tasks[0]!.id);

      const byType = await json<{ tasks: TaskJson[] }>(['tasks', 'list', '--type', 'build_product']);
      expect(byType.tasks.every((task) => task.type === 'build_product')).toBe(true);
      expect(byType.tasks.length).toBeGreaterThanOrEqual(1);
      const completed = await json<{ tasks: TaskJson[] }>(['tasks', 'list', '--status', 'completed']);
      expect(completed.tasks).toEqual([]);
      const none = await autodevInProcess(['tasks', 'list', '--status', 'completed']);
      expect(none.stdout).toBe('no tasks with status completed\n');
    });

    it('claude-tasks is autodev tasks', async () => {
      const outcome = await runNode(
        path.join(BIN, 'claude-tasks.js'),
        ['list', '--json', '--data-dir', t.dir],
        env(),
        cwd,
      );
      expect(outcome.code).toBe(0);
      const viaAlias = JSON.parse(outcome.stdout) as { tasks: TaskJson[] };
      const direct = await json<{ tasks: TaskJson[] }>(['tasks', 'list']);
      expect(viaAlias.tasks.map((task) => task.id)).toEqual(direct.tasks.map((task) => task.id));
      const pending = await runNode(
        path.join(BIN, 'claude-tasks.js'),
        ['list', '--status', 'pending', '--data-dir', t.dir],
        env(),
        cwd,
      );
      expect(pending.code).toBe(0);
      expect(pending.stdout).toMatch(/^ID\s+TYPE/);
    });

    it('show, cancel and retry a task', async () => {
      const task = await json<TaskJson>([
        'tasks',
        'create',
        '--type',
        'write_spec',
        '--priority',
        '3',
        '--payload',
        '{"story": 12}',
      ]);

      const shown = await autodevInProcess(['tasks', 'show', String(task.id)]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain(`task ${task.id}\n`);
      expect(shown.stdout).toMatch(/type:\s+write_spec \(handled by architect\)/);
      expect(shown.stdout).toMatch(/payload:\s+\{"story":12\}/);
      expect(await json<TaskJson>(['tasks', 'show', String(task.id)])).toEqual(task);

      const cancelled = await autodevInProcess([
        'tasks',
        'cancel',
        String(task.id),
        '--reason',
        'spec no longer needed',
      ]);
      expect(cancelled).toEqual({ code: 0, stdout: `cancelled task ${task.id} (write_spec)\n`, stderr: '' });
      expect(await json<TaskJson>(['tasks', 'show', String(task.id)])).toMatchObject({
        status: 'cancelled',
        error: 'spec no longer needed',
      });

      const retried = await autodevInProcess(['tasks', 'retry', String(task.id)]);
      expect(retried.code).toBe(0);
      expect(retried.stdout).toBe(`task ${task.id} (write_spec) is pending again with 3 fresh attempts\n`);
      expect(await json<TaskJson>(['tasks', 'show', String(task.id)])).toMatchObject({
        status: 'pending',
        error: null,
      });

      const again = await json<TaskJson>(['tasks', 'cancel', String(task.id)]);
      expect(again).toMatchObject({ id: task.id, status: 'cancelled', error: 'cancelled by cli' });
    });
  });

  describe('bad input: exit 2, one line on stderr, nothing written', () => {
    let cancelledId: number;
    let pendingId: number;
    let before: { tasks: number; events: number };

    beforeAll(async () => {
      pendingId = (await json<TaskJson>(['tasks', 'create', '--type', 'run_tests'])).id;
      cancelledId = (await json<TaskJson>(['tasks', 'create', '--type', 'run_tests'])).id;
      await json<TaskJson>(['tasks', 'cancel', String(cancelledId)]);
      before = await counts();
    });

    const cases: [string, () => string[], RegExp][] = [
      [
        'unknown type',
        () => ['tasks', 'create', '--type', 'make_coffee'],
        /unknown task type "make_coffee"; run "autodev tasks types"/,
      ],
      [
        'priority 0',
        () => ['tasks', 'create', '--type', 'deploy', '--priority', '0'],
        /priority must be a whole number from 1 to 10/,
      ],
      [
        'priority 11',
        () => ['tasks', 'create', '--type', 'deploy', '--priority', '11'],
        /priority must be a whole number from 1 to 10/,
      ],
      [
        'priority -3',
        () => ['tasks', 'create', '--type', 'deploy', '--priority', '-3'],
        /priority must be a whole number from 1 to 10/,
      ],
      [
        'priority 2.5',
        () => ['tasks', 'create', '--type', 'deploy', '--priority', '2.5'],
        /priority must be a whole number .*"2\.5"/,
      ],
      [
        'priority abc',
        () => ['tasks', 'create', '--type', 'deploy', '--priority', 'abc'],
        /priority must be a whole number .*"abc"/,
      ],
      [
        'payload not JSON',
        () => ['tasks', 'create', '--type', 'deploy', '--payload', '{idea: x}'],
        /payload is not valid JSON .*--payload '/,
      ],
      [
        'payload a list',
        () => ['tasks', 'create', '--type', 'deploy', '--payload', '[1, 2]'],
        /payload must be a JSON object/,
      ],
      [
        'payload a string',
        () => ['tasks', 'create', '--type', 'deploy', '--payload', '"text"'],
        /payload must be a JSON object/,
      ],
      [
        'payload null',
        () => ['tasks', 'create', '--type', 'deploy', '--payload', 'null'],
        /payload must be a JSON object/,
      ],
      [
        'create without --type',
        () => ['tasks', 'create', '--priority', '5'],
        /required option '--type <type>' not specified/,
      ],
      [
        'non-numeric id (show)',
        () => ['tasks', 'show', 'abc'],
        /task id must be a positive whole number \(got "abc"\)/,
      ],
      ['non-numeric id (cancel)', () => ['tasks', 'cancel', '12x'], /task id must be a positive whole number/],
      [
        'non-numeric id (retry)',
        () => ['tasks', 'retry', '-1'],
        /task id must be a positive whole number|unknown option/,
      ],
      [
        'unknown id (show)',
        () => ['tasks', 'show', '999999'],
        /task 999999 does not exist; "autodev tasks list" shows the ids/,
      ],
      ['unknown id (cancel)', () => ['tasks', 'cancel', '999999'], /task 999999 does not exist/],
      ['unknown id (retry)', () => ['tasks', 'retry', '999999'], /task 999999 does not exist/],
      [
        'cancel a cancelled task',
        () => ['tasks', 'cancel', String(cancelledId)],
        /is cancelled; only pending or in-progress tasks can be cancelled/,
      ],
      [
        'retry a pending task',
        () => ['tasks', 'retry', String(pendingId)],
        /is pending; only failed or cancelled tasks can be retried/,
      ],
      [
        'unknown status',
        () => ['tasks', 'list', '--status', 'done'],
        /unknown status "done"; use one of pending, in_progress, completed, failed, cancelled/,
      ],
      ['unknown type filter', () => ['tasks', 'list', '--type', 'make_coffee'], /unknown task type "make_coffee"/],
      ['bad limit', () => ['tasks', 'list', '--limit', '0'], /--limit must be a whole number from 1 to 500/],
      ['bad cursor', () => ['tasks', 'list', '--cursor', 'nonsense'], /cursor is not one this server produced/],
      ['extra argument', () => ['tasks', 'show', '1', '2'], /too many arguments for 'show'/],
    ];

    // In process through the program builder (runCli): the same parsing, errors and exit codes as the binary. One
    // at a time: SQLite connections of one thread cannot wait for each other's write locks.
    it.each(cases)('%s', async (_name, args, message) => {
      const outcome = await autodevInProcess(args());
      expect(outcome.code).toBe(2);
      expect(stderrLines(outcome)).toHaveLength(1);
      expect(outcome.stderr).toMatch(/^autodev: /);
      expect(outcome.stderr).toMatch(message);
      expect(outcome.stdout).toBe('');
    });

    // Smoke tests of the built binary: a usage error (commander) and a refused value (the command), as above.
    it.concurrent.each(cases.filter(([name]) => ['create without --type', 'priority abc'].includes(name)))(
      'the built binary: %s',
      async (_name, args, message) => {
        const outcome = await autodev(args());
        expect(outcome.code).toBe(2);
        expect(stderrLines(outcome)).toHaveLength(1);
        expect(outcome.stderr).toMatch(/^autodev: /);
        expect(outcome.stderr).toMatch(message);
        expect(outcome.stdout).toBe('');
      },
    );

    it('left the tasks and events exactly as they were', async () => {
      // Vitest runs a sequential test only after the run of concurrent ones before it has finished.
      expect(await counts()).toEqual(before);
    });

    it('a bad --config file stops a command before it touches the database', async () => {
      const bad = path.join(cwd, `bad-${dialect}.yaml`);
      fs.writeFileSync(bad, 'queue:\n  lease_secs: 10\n');
      const outcome = await autodev(['--config', bad, 'tasks', 'create', '--type', 'deploy']);
      expect(outcome.code).toBe(2);
      expect(outcome.stderr).toBe(
        `autodev: ${bad}: queue.lease_secs: unknown key; known keys here: lease_seconds, heartbeat_seconds, reclaim_seconds, max_attempts, retry_base_seconds, retry_max_seconds\n`,
      );
      expect(await counts()).toEqual(before);
    });
  });

  describe('db and config', () => {
    it('db migrate applies the migrations once, then is already up to date', async () => {
      const fresh = await freshDatabase(dialect);
      try {
        const first = await runNode(
          AUTODEV,
          ['db', 'migrate', '--data-dir', fresh.dataDir],
          cleanEnv({ DATABASE_URL: fresh.url }),
          cwd,
        );
        expect(first.stderr).toBe('');
        expect(first.code).toBe(0);
        expect(first.stdout).toMatch(/^applied \d+ migrations? to .+:\n {2}0001-initial\n/);
        const second = await runNode(
          AUTODEV,
          ['db', 'migrate', '--data-dir', fresh.dataDir],
          cleanEnv({ DATABASE_URL: fresh.url }),
          cwd,
        );
        expect(second.code).toBe(0);
        expect(second.stdout).toMatch(/^database .+ is already up to date\n$/);
        if (dialect === 'sqlite') expect(second.stdout).toContain(path.join(fresh.dataDir, 'autodev.db'));
      } finally {
        await fresh.drop();
      }
    });

    it('config show prints the effective settings with their sources; --json parses', async () => {
      fs.writeFileSync(
        path.join(t.dir, 'settings.yaml'),
        'server:\n  port: 9001\nnotify:\n  webhooks:\n    - url: https://hooks.example.com/services/T0/B0/s3cretWebhookPart\n',
      );
      try {
        const shown = await autodev(['config', 'show'], { AUTODEV_TOKENS__DAILY_BUDGET: '5000' });
        // A webhook URL's secret part is never printed.
        expect(shown.stdout).toContain('url: https://hooks.example.com/services/***');
        expect(shown.stdout).not.toContain('s3cretWebhookPart');
        expect(shown.code).toBe(0);
        const lines = shown.stdout.split('\n');
        expect(lines[0]).toMatch(/^# Effective settings/);
        expect(lines[1]).toMatch(/^# {3}shipped defaults: .*config\/settings\.yaml$/);
        expect(lines[2]).toBe(`#   settings file: ${path.join(t.dir, 'settings.yaml')}`);
        expect(lines[3]).toBe('#   environment: AUTODEV_TOKENS__DAILY_BUDGET');
        expect(shown.stdout).toMatch(/^ {2}port: 9001$/m);
        expect(shown.stdout).toMatch(/^ {2}daily_budget: 5000$/m);

        const parsed = await json<{
          sources: { kind: string }[];
          settings: { server: { port: number; host: string } };
        }>(['config', 'show']);
        expect(parsed.sources.map((s) => s.kind)).toEqual(['defaults', 'file']);
        expect(parsed.settings.server).toEqual({
          host: '127.0.0.1',
          port: 9001,
          max_event_streams: 1000,
          max_event_streams_per_token: 20,
          max_event_stream_buffer_bytes: 1048576,
          max_event_stream_stall_seconds: 30,
          health_port: null,
          database_wait_seconds: 300,
        });
      } finally {
        fs.rmSync(path.join(t.dir, 'settings.yaml'));
      }
    });
  });

  describe('up', () => {
    it(
      'serves /health and the API with the admin token, and stops cleanly on SIGINT',
      { timeout: 60_000 },
      async () => {
        const dataDir = t.dir; // for SQLite, the test database's directory
        const port = await freePort();
        const child = spawnInGroup(process.execPath, [AUTODEV, 'up', '--port', String(port), '--data-dir', dataDir], {
          env: env({ AUTODEV_LOG__LEVEL: 'warn' }),
          cwd,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          child.on('exit', (code, signal) => resolve({ code, signal })),
        );
        try {
          const base = `http://127.0.0.1:${port}`;
          await waitFor(
            async () => (await fetch(`${base}/health`).catch(() => undefined))?.status === 200,
            20_000,
            () => stderr,
          );
          const health = (await (await fetch(`${base}/health`)).json()) as { status: string; db: { dialect: string } };
          expect(health).toMatchObject({ status: 'ok', db: { dialect } });

          expect(stdout).toContain(`Auto-Dev ${VERSION} is up: ${base}`);
          const tokenFile = path.join(dataDir, 'admin-token');
          expect(stdout).toContain(`admin token: ${tokenFile}`);
          expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
          const token = fs.readFileSync(tokenFile, 'utf8').trim();

          expect((await fetch(`${base}/api/tasks`)).status).toBe(401);
          const response = await fetch(`${base}/api/tasks?limit=500`, {
            headers: { authorization: `Bearer ${token}` },
          });
          expect(response.status).toBe(200);
          const body = (await response.json()) as { tasks: TaskJson[]; next_cursor: string | null };
          expect(body.tasks).toHaveLength((await counts()).tasks);
          // The forge webhook routes are served by `up` too (outside the API's auth; no secret set here: 503), and
          // the scheduler runs in it.
          for (const forge of ['gitlab', 'github']) {
            const hook = await fetch(`${base}/webhooks/${forge}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: '{}',
            });
            expect(hook.status).toBe(503);
            expect(((await hook.json()) as { error: { code: string } }).error.code).toBe('WEBHOOK_NOT_CONFIGURED');
          }
          expect(stdout).toMatch(/ {2}scheduler: {3}no schedule enabled \(/);

          // A second `up` on the same port fails with one clear line.
          const clash = await runNode(AUTODEV, ['up', '--port', String(port), '--data-dir', dataDir], env(), cwd);
          expect(clash.code).toBe(1);
          expect(clash.stderr).toBe(`autodev: port ${port} is in use; pass --port or stop the other process\n`);

          const stopStarted = Date.now();
          child.kill('SIGINT');
          const exit = await Promise.race([
            exited,
            new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000)),
          ]);
          expect(exit, stderr).toEqual({ code: 0, signal: null });
          expect(Date.now() - stopStarted).toBeLessThan(10_000);
          expect(stdout).toMatch(/stopped\n$/);
        } finally {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }
      },
    );

    it('a port already taken by another program: exit 1, one line', async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const port = (blocker.address() as net.AddressInfo).port;
      try {
        const outcome = await autodev(['up', '--port', String(port)]);
        expect(outcome.code).toBe(1);
        expect(outcome.stderr).toBe(`autodev: port ${port} is in use; pass --port or stop the other process\n`);
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    });

    it('--port that is not a number: exit 2, one line, nothing started', async () => {
      const outcome = await autodev(['up', '--port', 'eighty']);
      expect(outcome).toEqual({
        code: 2,
        stdout: '',
        stderr: 'autodev: --port must be a whole number from 0 to 65535 (got "eighty")\n',
      });
    });
  });
});

/** An empty database with no migrations applied: a new SQLite data dir, or a new PostgreSQL database. */
async function freshDatabase(
  dialect: string,
): Promise<{ dataDir: string; url: string | undefined; drop(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-fresh-'));
  if (dialect === 'sqlite') {
    return { dataDir, url: undefined, drop: async () => fs.rmSync(dataDir, { recursive: true, force: true }) };
  }
  const adminUrl = inject('pgAdminUrl');
  if (!adminUrl) throw new Error('PostgreSQL is not available to this test run');
  const name = `autodev_fresh_${Math.random().toString(16).slice(2, 10)}`;
  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  return {
    dataDir,
    url: withDatabase(adminUrl, name),
    async drop() {
      await admin(`drop database if exists ${name} with (force)`);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out after ${timeoutMs}ms; server stderr:\n${context()}`);
}
