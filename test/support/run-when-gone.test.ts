/**
 * A test run killed without its teardown leaves nothing running: `run-p` stops `npm test` with SIGTERM when typecheck
 * fails, and a CI runner may SIGKILL it. A second vitest runs the suite's global setup (its own PostgreSQL cluster,
 * moto, the SQLite template) and one test that holds; this test SIGKILLs that vitest's main process, the one that
 * started them, and waits for the `runWhenGone` guards to stop the cluster and moto and remove their files.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './agent-fixtures.js';
import { spawnInGroup } from './child-processes.js';
import { DIALECTS } from './dialects.js';
import { findPostgresBinDir } from './postgres-cluster.js';
import { runWhenGone, whenGoneScript } from './run-when-gone.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VITEST = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const CONFIG = path.join(ROOT, 'test', 'fixtures', 'killed-run', 'vitest.config.ts');

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-killed-run-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** True while a process with this pid exists (and is not a zombie). */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** True while something accepts TCP connections at `port` on 127.0.0.1. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('runWhenGone', () => {
  it('its script runs every command in order once stdin ends, each word one argument (spaces, quotes, $)', () => {
    const odd = path.join(scratch, `it's a "file" $HOME`);
    const script = whenGoneScript([
      ['touch', odd],
      ['sh', '-c', 'printf "%s|" "$@" > "$0.args"', odd, 'a b', "c'd", '$PATH'],
    ]);
    // stdin at end of file from the start: the commands run at once.
    const result = spawnSync('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(fs.existsSync(odd)).toBe(true);
    expect(fs.readFileSync(`${odd}.args`, 'utf8')).toBe(`a b|c'd|$PATH|`);
  });

  it('waits while this process lives; cancel() ends the guard, so its commands never run', async () => {
    const file = path.join(scratch, 'never');
    const guard = runWhenGone([['touch', file]]);
    expect(isAlive(guard.pid)).toBe(true);
    guard.cancel();
    await waitFor('the cancelled guard to be gone', () => !isAlive(guard.pid), 10_000);
    expect(fs.existsSync(file)).toBe(false);
  });
});

describe('a test run killed without its teardown', () => {
  it('leaves no PostgreSQL cluster, moto or SQLite template behind once its vitest is SIGKILLed', async () => {
    const marker = path.join(scratch, 'where.json');
    const env: NodeJS.ProcessEnv = { ...process.env, HOLD_MARKER: marker };
    delete env.AUTODEV_TEST_DATABASE_URL; // its own cluster, never the one this run uses
    const run = spawnInGroup(process.execPath, [VITEST, 'run', '--config', CONFIG], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    run.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    run.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const where = await waitFor(
      () => Promise.resolve(`the held run to say where its servers are; its output:\n${output}`),
      () => fs.existsSync(marker) && (JSON.parse(fs.readFileSync(marker, 'utf8')) as Record<string, string | null>),
      90_000,
    );

    // Up and running while the run lives.
    const templateDir = path.dirname(where.sqliteTemplatePath!);
    expect(fs.existsSync(templateDir)).toBe(true);
    const motoPort = Number(new URL(where.motoEndpoint!).port);
    expect(await listening(motoPort)).toBe(true);
    let cluster: { port: number; dataDir: string } | undefined;
    if (where.pgAdminUrl) {
      const client = new pg.Client({ connectionString: where.pgAdminUrl });
      await client.connect();
      const { rows } = await client.query<{ setting: string }>(
        `select setting from pg_settings where name = 'data_directory'`,
      );
      await client.end();
      cluster = { port: Number(new URL(where.pgAdminUrl).port), dataDir: path.dirname(rows[0]!.setting) };
      expect(fs.existsSync(cluster.dataDir)).toBe(true);
    } else if (DIALECTS.includes('postgres') && findPostgresBinDir()) {
      throw new Error(`the held run started no PostgreSQL cluster; its output:\n${output}`);
    }

    // The main vitest process dies at once: no teardown runs.
    process.kill(run.pid!, 'SIGKILL');

    try {
      await waitFor(
        async () =>
          `the killed run's servers and files to go: moto listening ${await listening(motoPort)}, ` +
          `template ${fs.existsSync(templateDir)}, cluster ${cluster ? await listening(cluster.port) : 'none'} ` +
          `${cluster ? fs.existsSync(cluster.dataDir) : ''}`,
        async () =>
          !(await listening(motoPort)) &&
          !fs.existsSync(templateDir) &&
          (!cluster || (!(await listening(cluster.port)) && !fs.existsSync(cluster.dataDir))),
        30_000,
      );
    } finally {
      // Should the guards fail, this test still leaves no server behind (moto goes with the run's process group).
      const pidFile = cluster && path.join(cluster.dataDir, 'data', 'postmaster.pid');
      if (pidFile && fs.existsSync(pidFile)) {
        process.kill(Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]), 'SIGQUIT');
        fs.rmSync(cluster!.dataDir, { recursive: true, force: true });
      }
    }
  }, 120_000);
});
