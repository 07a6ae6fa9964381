/**
 * @module Migrations as an explicit step: where the schema stands against the build, two migrators at once applying
 * each migration once, a database newer than the build refused unchanged, and `serve` (in process, through the
 * program builder) waiting, not ready, until `autodev db migrate` has run, with `/health` live the whole time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { allMigrations, migrateToLatest } from '../../src/store/migrate.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/open-database.js';
import { readSchemaState } from '../../src/store/schema-version.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../support/dialects.js';
import { runBuiltCli } from '../support/built-cli.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';

/** Drops every table (the migrations' bookkeeping too): the database as a deployment's first start finds it. */
async function emptyDatabase(handle: DatabaseHandle): Promise<void> {
  if (handle.dialect.name === 'postgres') {
    await sql`drop schema public cascade`.execute(handle.db);
    await sql`create schema public`.execute(handle.db);
    return;
  }
  await sql`pragma foreign_keys = off`.execute(handle.db);
  const { rows } = await sql<{
    name: string;
  }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(handle.db);
  for (const { name } of rows) await sql`drop table if exists ${sql.table(name)}`.execute(handle.db);
  await sql`pragma foreign_keys = on`.execute(handle.db);
}

function openSecond(t: TestDatabase): Promise<DatabaseHandle> {
  return openDatabase(t.databaseUrl ? { databaseUrl: t.databaseUrl, poolSize: 2 } : { sqlitePath: t.sqlitePath! });
}

function cliEnv(t: TestDatabase): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'silent' };
  delete env.DATABASE_URL;
  for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
  if (t.databaseUrl) env.DATABASE_URL = t.databaseUrl;
  return env;
}

/** `autodev serve <component> ...` in process, stopped by `stop()`; `lines` resolves on a matching stdout line. */
function serveInProcess(t: TestDatabase, args: readonly string[]) {
  const shutdown = new AbortController();
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: (match: RegExpExecArray) => void }[] = [];
  const dataDir = t.sqlitePath ? path.dirname(t.sqlitePath) : t.dir;
  const exited = runCli(['--data-dir', dataDir, 'serve', ...args], {
    env: cliEnv(t),
    cwd: t.dir,
    stdout: {
      write: (chunk: string) => {
        stdout += chunk;
        for (const waiter of [...waiters]) {
          const match = waiter.pattern.exec(stdout);
          if (match) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(match);
          }
        }
      },
    },
    stderr: { write: (chunk: string) => (stderr += chunk) },
    now: Date.now,
    listenForShutdown: () => shutdown.signal,
  });
  return {
    exited,
    output: () => ({ stdout, stderr }),
    line(pattern: RegExp): Promise<RegExpExecArray> {
      const match = pattern.exec(stdout);
      if (match) return Promise.resolve(match);
      return new Promise((resolve, reject) => {
        waiters.push({ pattern, resolve });
        exited.then((code) => reject(new Error(`serve exited ${code} before ${pattern}: ${stdout} ${stderr}`)), reject);
      });
    },
    stop() {
      shutdown.abort();
      return exited;
    },
  };
}

describe.each(DIALECTS)('%s: the schema version and explicit migrations', (dialect) => {
  const t = useTestDatabase(dialect);

  it('an empty database lacks every migration; a migrated one none; an applied one this build lacks is "unknown"', async () => {
    const expected = Object.keys(allMigrations(t.handle.dialect)).sort();
    expect(await readSchemaState(t.handle)).toEqual({ expected, applied: expected, pending: [], unknown: [] });
    await t.handle.db
      .insertInto('autodev_migrations' as never)
      .values({ name: '9999-from-the-future', timestamp: new Date().toISOString() } as never)
      .execute();
    expect((await readSchemaState(t.handle)).unknown).toEqual(['9999-from-the-future']);

    await emptyDatabase(t.handle);
    expect(await readSchemaState(t.handle)).toEqual({ expected, applied: [], pending: expected, unknown: [] });
    await migrateToLatest(t.handle);
  });

  // SQLite's driver is synchronous: two handles in one process would block each other; the spawned test below runs
  // two processes on both engines.
  const itOnPostgres = dialect === 'postgres' ? it : ((() => undefined) as unknown as typeof it);
  itOnPostgres('two migrators in one process on an empty database apply each migration once (two pools)', async () => {
    await emptyDatabase(t.handle);
    const second = await openSecond(t);
    try {
      const [a, b] = await Promise.all([migrateToLatest(t.handle), migrateToLatest(second)]);
      expect([...a.applied, ...b.applied].sort()).toEqual(Object.keys(allMigrations(t.handle.dialect)).sort());
      expect((await readSchemaState(t.handle)).pending).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('two `autodev db migrate` processes (the built CLI) at once on an empty database apply each migration once', async () => {
    await emptyDatabase(t.handle);
    const [a, b] = await Promise.all([
      runBuiltCli(t, ['db', 'migrate', '--json']),
      runBuiltCli(t, ['db', 'migrate', '--json']),
    ]);
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    const applied = [a, b].flatMap((outcome) => (JSON.parse(outcome.stdout) as { applied: string[] }).applied);
    expect(applied.sort()).toEqual(Object.keys(allMigrations(t.handle.dialect)).sort());
    expect((await readSchemaState(t.handle)).pending).toEqual([]);
  });

  it('a database migrated by a newer build: db migrate and serve refuse it and change nothing', async () => {
    await t.handle.db
      .insertInto('autodev_migrations' as never)
      .values({ name: '9999-from-the-future', timestamp: new Date().toISOString() } as never)
      .execute();
    const migrate = await runCliInProcessOn(t, ['db', 'migrate']);
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toMatch(/has migrations this Auto-Dev build does not know \(9999-from-the-future\)/);
    const serve = serveInProcess(t, ['scheduler']);
    expect(await serve.exited).toBe(1);
    expect(serve.output().stderr).toMatch(/migrated by a newer version/);
    const prune = await runCliInProcessOn(t, ['db', 'prune']);
    expect(prune.code).toBe(1);
    expect(await readSchemaState(t.handle)).toMatchObject({ pending: [], unknown: ['9999-from-the-future'] });
    expect(await t.handle.db.selectFrom('events').select('id').execute()).toEqual([]);
  });

  it('serve scheduler on an unmigrated database: live, not ready, says it waits; ready once db migrate ran', async () => {
    await emptyDatabase(t.handle);
    const serve = serveInProcess(t, ['scheduler', '--health-port', '0']);
    try {
      const base = (await serve.line(/health: +(http:\/\/\S+?)\/health/))[1]!;
      await serve.line(/waiting for `autodev db migrate`: the database .* lacks \d+ migration\(s\)/);
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const notReady = await fetch(`${base}/ready`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toMatchObject({ ready: false, database: true, schema: false });
      // Still nothing migrated: serve never migrates.
      expect((await readSchemaState(t.handle)).applied).toEqual([]);

      const migrated = await runCliInProcessOn(t, ['db', 'migrate']);
      expect(migrated.code).toBe(0);
      await serve.line(/scheduler: /);
      const ready = await fetch(`${base}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({
        ready: true,
        database: true,
        schema: true,
        loops: { server: true, scheduler: true },
        reasons: [],
      });
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    expect(serve.output().stdout).toMatch(/stopped\n$/);
  });

  it('serve dashboard while waiting answers only /health and /ready (503 SCHEMA_NOT_CURRENT elsewhere); SIGTERM while waiting stops cleanly', async () => {
    await emptyDatabase(t.handle);
    const serve = serveInProcess(t, ['dashboard', '--port', '0']);
    let stopped = false;
    try {
      const base = (await serve.line(/health: +(http:\/\/\S+?)\/health/))[1]!;
      await serve.line(/waiting for `autodev db migrate`/);
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect((await fetch(`${base}/ready`)).status).toBe(503);
      const api = await fetch(`${base}/api/tasks`);
      expect(api.status).toBe(503);
      expect(((await api.json()) as { error: { code: string } }).error.code).toBe('SCHEMA_NOT_CURRENT');
      expect(await serve.stop()).toBe(0);
      stopped = true;
      expect(serve.output().stdout).toMatch(/stopping before the schema was current...\nstopped\n$/);
      expect((await readSchemaState(t.handle)).applied).toEqual([]);
    } finally {
      if (!stopped) await serve.stop();
      await migrateToLatest(t.handle);
    }
  });

  it.each([
    [['serve', 'dashboard', '--health-port', '9000'], /--health-port is for agent and scheduler processes/],
    [['serve', 'webhook', '--health-port', '9000'], /--health-port is for agent and scheduler processes/],
    [['serve', 'scheduler', '--health-port', 'ninety'], /--health-port/],
    [['serve', 'agent:builder', '--health-port', '65536'], /--health-port/],
  ])('%j: exit 2 with one line, nothing started or written', async (args, message) => {
    const events = await t.handle.db.selectFrom('events').select('id').execute();
    const outcome = await runCliInProcessOn(t, args);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
    expect(outcome.stderr).toMatch(message);
    expect(outcome.stdout).toBe('');
    expect(await t.handle.db.selectFrom('events').select('id').execute()).toEqual(events);
  });

  it('up --no-migrate waits like serve; up migrates by itself', async () => {
    await emptyDatabase(t.handle);
    const config = path.join(t.dir, 'no-agents.yaml');
    fs.writeFileSync(config, 'server:\n  port: 0\n');
    const dataDir = t.sqlitePath ? path.dirname(t.sqlitePath) : t.dir;
    const shutdown = new AbortController();
    let stdout = '';
    const exited = runCli(['--data-dir', dataDir, '--config', config, 'up', '--no-agents', '--no-migrate'], {
      env: cliEnv(t),
      cwd: t.dir,
      stdout: { write: (chunk: string) => (stdout += chunk) },
      stderr: { write: () => undefined },
      now: Date.now,
      listenForShutdown: () => shutdown.signal,
    });
    const migrated = new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (/waiting for `autodev db migrate`/.test(stdout)) {
          clearInterval(poll);
          resolve();
        }
      }, 20);
      exited.then((code) => {
        clearInterval(poll);
        reject(new Error(`up exited ${code}: ${stdout}`));
      }, reject);
    });
    await migrated;
    expect((await readSchemaState(t.handle)).applied).toEqual([]);
    shutdown.abort();
    expect(await exited).toBe(0);

    const up = serveless(t, dataDir, config);
    await up.ready;
    expect((await readSchemaState(t.handle)).pending).toEqual([]);
    expect(await up.stop()).toBe(0);
  });
});

/** `autodev up --no-agents` (migrating by itself), resolved once it is up. */
function serveless(t: TestDatabase, dataDir: string, config: string) {
  const shutdown = new AbortController();
  let stdout = '';
  let resolveUp: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (resolveUp = resolve));
  const exited = runCli(['--data-dir', dataDir, '--config', config, 'up', '--no-agents'], {
    env: cliEnv(t),
    cwd: t.dir,
    stdout: {
      write: (chunk: string) => {
        stdout += chunk;
        if (/is up: http/.test(stdout)) resolveUp();
      },
    },
    stderr: { write: () => undefined },
    now: Date.now,
    listenForShutdown: () => shutdown.signal,
  });
  return {
    ready: Promise.race([ready, exited.then((code) => Promise.reject(new Error(`up exited ${code}: ${stdout}`)))]),
    stop() {
      shutdown.abort();
      return exited;
    },
  };
}
