/**
 * @module `autodev tokens create` through the BUILT cli (`npm run build` first), on SQLite and PostgreSQL: the token
 * printed once authenticates with its role; a bad role exits 2 and stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/server/api-tokens.js';
import { runBuiltCli } from '../support/built-cli.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../support/dialects.js';

describe.each(DIALECTS)('%s: autodev tokens create', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t.drop();
  });

  const cli = (...args: string[]) => runBuiltCli(t, args);

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
