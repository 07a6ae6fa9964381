/**
 * @module `autodev serve` started before its PostgreSQL (the built CLI, `npm run build` first; a cluster of this
 * file's own, since its server is stopped and started): the process listens, says in its log and in `/ready` (503)
 * that it is waiting for the database, and becomes ready once the server starts; with a short
 * `server.database_wait_seconds` and no server at all it exits 1 (DATABASE_UNAVAILABLE) with an error naming the setting.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/store/migrate.js';
import { openDatabase } from '../../src/store/open-database.js';
import { waitFor } from '../support/agent-fixtures.js';
import { AUTODEV_BIN } from '../support/built-cli.js';
import { killGroup, spawnInGroup } from '../support/child-processes.js';
import { DIALECTS } from '../support/dialects.js';
import { freePort, startPostgresCluster, withDatabase, type PostgresCluster } from '../support/postgres-cluster.js';

interface Served {
  child: ChildProcess;
  exited: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
}

describe.each(DIALECTS.filter((d) => d === 'postgres'))('%s: serve before the database is up', () => {
  let cluster: PostgresCluster | undefined;
  let databaseUrl = '';
  const children: ChildProcess[] = [];
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-dbwait-'));

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query('create database waiting');
    await admin.end();
    databaseUrl = withDatabase(cluster.adminUrl, 'waiting');
    // `autodev db migrate` ran (the deployment's step): only the server being down keeps the process from ready.
    const handle = await openDatabase({ databaseUrl, poolSize: 1 });
    await migrateToLatest(handle);
    await handle.close();
  });

  afterAll(() => {
    for (const child of children) killGroup(child);
    cluster?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  function serve(args: readonly string[], env: Record<string, string>): Served {
    const dataDir = fs.mkdtempSync(path.join(root, 'data-'));
    const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
    for (const name of Object.keys(childEnv)) if (name.startsWith('AUTODEV_')) delete childEnv[name];
    Object.assign(childEnv, env);
    const child = spawnInGroup(process.execPath, [AUTODEV_BIN, '--data-dir', dataDir, ...args], {
      env: childEnv,
      cwd: dataDir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-20_000)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, exited, stdout: () => stdout, stderr: () => stderr };
  }

  async function ready(base: string) {
    const response = await fetch(`${base}/ready`);
    return { status: response.status, body: (await response.json()) as { ready: boolean; reasons: string[] } };
  }

  it(
    'serve scheduler started while PostgreSQL is stopped: not ready, "waiting for the database", then ready once it starts',
    { timeout: 60_000 },
    async () => {
      await cluster!.stopServer();
      const scheduler = serve(['serve', 'scheduler', '--health-port', '0'], { DATABASE_URL: databaseUrl });
      const output = () => `stdout: ${scheduler.stdout()}\nstderr: ${scheduler.stderr()}`;
      const base = await waitFor(
        async () => `the health address: ${output()}`,
        () => {
          if (scheduler.child.exitCode !== null) throw new Error(`exited ${scheduler.child.exitCode}: ${output()}`);
          return /health: +(http:\/\/\S+?)\/health/.exec(scheduler.stdout())?.[1];
        },
      );
      await waitFor(
        async () => `the waiting line: ${output()}`,
        () => scheduler.stdout().includes('waiting for the database'),
      );
      const waiting = await ready(base);
      expect(waiting.status).toBe(503);
      expect(waiting.body.ready).toBe(false);
      expect(waiting.body.reasons).toEqual(
        expect.arrayContaining(['the database does not answer', expect.stringMatching(/^waiting for the database: /)]),
      );
      // The log says so too (warn level: stderr's JSON lines).
      expect(scheduler.stderr()).toContain('waiting for the database');
      expect(scheduler.child.exitCode).toBeNull();

      await cluster!.startServer();
      const up = await waitFor(
        async () => `/ready to turn 200: ${JSON.stringify(await ready(base))} ${output()}`,
        async () => {
          const report = await ready(base);
          return report.status === 200 ? report : undefined;
        },
        30_000,
        100,
      );
      expect(up.body).toMatchObject({ ready: true, reasons: [] });
      expect(scheduler.stdout()).toMatch(/scheduler: /);

      scheduler.child.kill('SIGTERM');
      expect(await scheduler.exited).toBe(0);
    },
  );

  it(
    'no database within server.database_wait_seconds: exits 1 (DATABASE_UNAVAILABLE) with an error naming the setting',
    { timeout: 30_000 },
    async () => {
      const nowhere = `postgres://postgres@127.0.0.1:${await freePort()}/nothing`;
      const agent = serve(['serve', 'agent:pm', '--health-port', '0'], {
        DATABASE_URL: nowhere,
        AUTODEV_SERVER__DATABASE_WAIT_SECONDS: '1',
      });
      expect(await agent.exited).toBe(1);
      expect(agent.stdout()).toContain('waiting for the database');
      expect(agent.stdout()).not.toContain('agents:');
      expect(agent.stderr()).toMatch(
        /^autodev: the database \S+ did not answer within 1 s \(\d+ tries; server\.database_wait_seconds\): connect ECONNREFUSED/m,
      );
    },
  );

  it('SIGTERM while it waits for the database: a clean stop, exit 0', { timeout: 30_000 }, async () => {
    const nowhere = `postgres://postgres@127.0.0.1:${await freePort()}/nothing`;
    const dashboard = serve(['serve', 'dashboard', '--port', '0'], { DATABASE_URL: nowhere });
    await waitFor(
      async () => `the waiting line: ${dashboard.stdout()} ${dashboard.stderr()}`,
      () => dashboard.stdout().includes('waiting for the database'),
    );
    dashboard.child.kill('SIGTERM');
    expect(await dashboard.exited).toBe(0);
    expect(dashboard.stdout()).toMatch(/stopping before the schema was current\.\.\.\nstopped\n$/);
  });
});
