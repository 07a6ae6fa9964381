/**
 * @module `autodev tokens create` through the BUILT cli (`npm run build` first), on SQLite and PostgreSQL: the token
 * printed once authenticates with its role; a bad role exits 2 and stores nothing.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/server/api-tokens.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../support/dialects.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const AUTODEV = path.join(ROOT, 'dist', 'src', 'cli', 'bin', 'autodev.js');

describe.each(DIALECTS)('%s: autodev tokens create', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t.drop();
  });

  function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
    delete env.DATABASE_URL;
    for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
    if (t.databaseUrl) env.DATABASE_URL = t.databaseUrl;
    const dataDir = t.sqlitePath ? path.dirname(t.sqlitePath) : t.dir;
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [AUTODEV, '--data-dir', dataDir, ...args],
        { env, cwd: t.dir, timeout: 20_000 },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
      );
    });
  }

  it('prints a token once that authenticates with the role asked for', async () => {
    const outcome = await cli('tokens', 'create', '--role', 'viewer', '--name', 'wallboard');
    expect(outcome.code, outcome.stderr).toBe(0);
    const token = outcome.stdout.trim();
    expect(token).toMatch(/^\S{20,}$/);
    expect(outcome.stderr).toContain('shown only now');
    expect(await authenticate(t.handle.db, token)).toMatchObject({ name: 'wallboard', role: 'viewer' });

    const json = await cli('tokens', 'create', '--role', 'approver', '--json');
    expect(json.code, json.stderr).toBe(0);
    const body = JSON.parse(json.stdout) as { name: string; role: string; token: string };
    expect(body).toMatchObject({ name: 'approver-token', role: 'approver' });
    expect(await authenticate(t.handle.db, body.token)).toMatchObject({ role: 'approver' });
  });

  it('refuses an unknown role with exit 2 and stores nothing', async () => {
    const before = (await t.handle.db.selectFrom('api_tokens').select('id').execute()).length;
    const outcome = await cli('tokens', 'create', '--role', 'root');
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toContain('unknown role "root"');
    expect((await t.handle.db.selectFrom('api_tokens').select('id').execute()).length).toBe(before);
  });
});
