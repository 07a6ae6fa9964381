/**
 * `autodev serve dashboard`'s admin token on a shared database (its disk may not last, as a dashboard task's /data on
 * ECS), in process on SQLite and PostgreSQL: the first start on a database without an admin token writes the token
 * file; a start whose file is gone (a new task's disk) writes none once the database has an admin token, and says how
 * to create one; with every admin token revoked it writes a new file again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { authenticate, createApiToken } from '../../src/server/api-tokens.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../support/dialects.js';

/** Runs `serve dashboard --port 0` until it says it is up, then stops it (SIGTERM's signal) and returns its output. */
async function startAndStopDashboard(t: TestDatabase): Promise<{ code: number; stdout: string; dataDir: string }> {
  const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'silent' };
  delete env.DATABASE_URL;
  for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
  if (t.databaseUrl) env.DATABASE_URL = t.databaseUrl;
  const dataDir = t.sqlitePath ? path.dirname(t.sqlitePath) : t.dir;
  const shutdown = new AbortController();
  let stdout = '';
  const code = await runCli(['--data-dir', dataDir, 'serve', 'dashboard', '--host', '127.0.0.1', '--port', '0'], {
    env,
    cwd: t.dir,
    stdout: {
      write: (text: string) => {
        stdout += text;
        // The positive signal that the start is over: the last line `up` writes before it waits for the signal.
        if (stdout.includes('press Ctrl+C to stop')) shutdown.abort();
      },
    },
    stderr: { write: () => undefined },
    now: Date.now,
    listenForShutdown: () => shutdown.signal,
  });
  return { code, stdout, dataDir };
}

describe.each(DIALECTS)('%s: serve dashboard and the admin token of a shared database', (dialect) => {
  const t = useTestDatabase(dialect);
  const adminRows = () =>
    t.handle.db.selectFrom('api_tokens').select(['name', 'revoked_at']).where('role', '=', 'admin').execute();

  it('writes a token file only while the database has no admin token, and otherwise says how to make one', async () => {
    const first = await startAndStopDashboard(t);
    expect(first.code).toBe(0);
    const file = path.join(first.dataDir, 'admin-token');
    expect(first.stdout).toContain(`admin token: ${file} (created now;`);
    const token = fs.readFileSync(file, 'utf8').trim();
    expect(await authenticate(t.handle.db, token)).toEqual({ name: 'admin', role: 'admin' });

    // The same disk: the file is kept (and nothing new is stored).
    const again = await startAndStopDashboard(t);
    expect(again.stdout).toContain(`admin token: ${file} (existing;`);
    expect(await adminRows()).toHaveLength(1);

    // A new task's disk: no file, and the database already has its admin token.
    fs.rmSync(file);
    const replaced = await startAndStopDashboard(t);
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toContain(
      'admin token: none written here, the database has 1 admin token(s); a new one: autodev tokens create --role admin --name <name>',
    );
    expect(fs.existsSync(file)).toBe(false);
    expect(await adminRows()).toHaveLength(1);

    // A token made with `autodev tokens create --role admin` counts as well.
    await createApiToken(t.handle.db, { name: 'ops', role: 'admin', now: Date.now() });
    const withTwo = await startAndStopDashboard(t);
    expect(withTwo.stdout).toContain('the database has 2 admin token(s)');
    expect(fs.existsSync(file)).toBe(false);

    // Every admin token revoked: the next start writes a new file (the way back in).
    await t.handle.db.updateTable('api_tokens').set({ revoked_at: Date.now() }).where('role', '=', 'admin').execute();
    const revoked = await startAndStopDashboard(t);
    expect(revoked.stdout).toContain(`admin token: ${file} (created now;`);
    const fresh = fs.readFileSync(file, 'utf8').trim();
    expect(fresh).not.toBe(token);
    expect(await authenticate(t.handle.db, fresh)).toEqual({ name: 'admin', role: 'admin' });
  });
});
