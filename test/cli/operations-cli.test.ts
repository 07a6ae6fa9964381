/**
 * Smoke checks of the operations commands through the BUILT cli (`npm run build` first): `autodev logs` and
 * `autodev costs` read what is in the store; a bad value exits 2 with one line. The filters and groupings themselves
 * are tested in process (test/logs/process-logs.test.ts, test/agents/costs.test.ts). Both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBuiltCli } from '../support/built-cli.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../support/dialects.js';

describe.each(DIALECTS)('%s: operations commands (built cli)', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
    const now = Date.now();
    await t.handle.db
      .insertInto('process_logs')
      .values({
        process_id: 'p',
        service: 'agent:builder',
        host: 'host-a',
        pid: 7,
        role: 'builder',
        level: 50,
        message: 'the builder broke',
        created_at: now,
      })
      .execute();
    await t.handle.db
      .insertInto('sessions')
      .values({
        role: 'builder',
        provider: 'claude',
        status: 'succeeded',
        tokens_in: 10,
        cost_usd: 0.5,
        started_at: now,
      })
      .execute();
  });
  afterAll(async () => {
    await t.drop();
  });

  it('autodev logs and autodev costs print what the store holds', async () => {
    const logs = await runBuiltCli(t, ['logs', '--level', 'error', '--since', '1h']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/ERROR agent:builder builder host-a:7 the builder broke/);
    const costs = await runBuiltCli(t, ['costs', '--by', 'role', '--json']);
    expect(costs.code, costs.stderr).toBe(0);
    expect(JSON.parse(costs.stdout)).toMatchObject({ by: 'role', rows: [{ key: 'builder', cost_usd: 0.5 }] });
  });

  it('a bad filter exits 2 with one line', async () => {
    const outcome = await runBuiltCli(t, ['logs', '--level', 'chatty']);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr.trim().split('\n')).toEqual([
      'autodev: --level must be one of info, warn, error, fatal; got "chatty"',
    ]);
  });
});
