/**
 * `autodev agents`, `instruct`, `serve` and `mcp` on SQLite and on PostgreSQL, in process through `runCli`, with smoke
 * checks through the BUILT cli (`npm run build` first). Bad input exits 2 with one line on stderr and writes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOLD_GONE_AGENTS_MS } from '../../src/agents/agent-registry.js';
import type { AgentStatus } from '../../src/store/schema.js';
import { runBuiltCli } from '../support/built-cli.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';

describe.each(DIALECTS)('%s: agents, instruct, serve and mcp commands', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t.drop();
  });

  /** The built binary (a few smoke checks) and the same commands in process through runCli (the rest). */
  const builtCli = (...args: string[]) => runBuiltCli(t, args);
  const cli = (...args: string[]) => runCliInProcessOn(t, args);

  async function rowCounts() {
    const count = async (table: 'instructions' | 'agent_controls' | 'events') =>
      Number(
        (
          await t.handle.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      instructions: await count('instructions'),
      controls: await count('agent_controls'),
      events: await count('events'),
    };
  }

  it('instruct saves an instruction for a role', async () => {
    const outcome = await builtCli('instruct', 'builder', 'Prefer small commits', '--json');
    expect(outcome.code).toBe(0);
    expect(JSON.parse(outcome.stdout)).toMatchObject({ role: 'builder', message: 'Prefer small commits' });
    const rows = await t.handle.db.selectFrom('instructions').selectAll().execute();
    expect(rows.map((r) => [r.role, r.message, r.delivered_at])).toContainEqual([
      'builder',
      'Prefer small commits',
      null,
    ]);
  });

  it('agents scale and restart write the desired state; status reads it back', async () => {
    expect((await cli('agents', 'scale', 'tester', '2')).code).toBe(0);
    expect((await cli('agents', 'restart', 'tester')).code).toBe(0);
    const control = await t.handle.db
      .selectFrom('agent_controls')
      .selectAll()
      .where('role', '=', 'tester')
      .executeTakeFirstOrThrow();
    expect(control.replicas).toBe(2); // across every process (0020), not per process
    expect(control.restart_generation).toBe(1);
    expect(control.restart_requested_at).not.toBeNull();
    const status = await cli('agents', 'status', '--json');
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { desired_workers: Record<string, number>; today: { tokens: number } };
    expect(parsed.desired_workers.tester).toBe(2);
    expect(parsed.desired_workers.builder).toBe(1);
    expect(parsed.today.tokens).toBe(0);
    const text = await cli('agents', 'status');
    expect(text.stdout).toMatch(/no agents have run yet/);
  });

  it('agents status lists the live agents and counts those of gone processes; --all lists them too', async () => {
    const now = Date.now();
    const longAgo = now - FOLD_GONE_AGENTS_MS - 60_000;
    const agent = (instance: string, status: AgentStatus, heartbeatAt: number, detail: string | null = null) => ({
      instance_id: instance,
      role: 'builder',
      status,
      current_task_id: null,
      provider: null,
      host: 'test',
      pid: 1,
      status_detail: detail,
      heartbeat_at: heartbeatAt,
      started_at: heartbeatAt,
    });
    await t.handle.db
      .insertInto('agents')
      .values([
        agent('builder@live#1', 'waiting', now, 'no provider can run: claude is not logged in'),
        agent('builder@old#1', 'stopped', longAgo),
        agent('builder@old#2', 'stopped', longAgo),
        agent('builder@dead#1', 'working', longAgo),
      ])
      .execute();
    try {
      const text = await cli('agents', 'status');
      expect(text.code, text.stderr).toBe(0);
      // The per-role summary lines (desired, running, processes) come first; the agents' rows after them.
      const lines = text.stdout.split('\n').filter((line) => !/^\S+\s+desired /.test(line));
      expect(lines[0]).toMatch(/^builder\s+waiting\s+builder@live#1 \(no provider can run: claude is not logged in\)$/);
      expect(lines[1]).toBe('+ 2 stopped and 1 crashed agents from earlier runs (--all lists them)');
      expect(text.stdout).not.toContain('builder@old');
      const json = JSON.parse((await cli('agents', 'status', '--json')).stdout) as {
        agents: { instance_id: string }[];
        folded: { stopped: number; crashed: number };
      };
      expect(json.agents.map((a) => a.instance_id)).toEqual(['builder@live#1']);
      expect(json.folded).toEqual({ stopped: 2, crashed: 1 });
      const all = await cli('agents', 'status', '--all');
      for (const id of ['builder@live#1', 'builder@old#1', 'builder@old#2', 'builder@dead#1']) {
        expect(all.stdout).toContain(id);
      }
      expect(all.stdout).toMatch(/builder\s+crashed\s+builder@dead#1/);
      expect(all.stdout).not.toContain('from earlier runs');
    } finally {
      await t.handle.db.deleteFrom('agents').execute();
    }
  });

  it.each([
    [['agents', 'scale', 'wizard', '1'], /unknown role "wizard"/],
    [['agents', 'scale', 'builder', '65'], /N must be a whole number from 0 to 64/],
    [['agents', 'scale', 'builder', '-1'], /./],
    [['agents', 'scale', 'builder', 'two'], /N must be a whole number/],
    [['agents', 'restart', 'wizard'], /unknown role/],
    [['instruct', 'wizard', 'hello'], /unknown role/],
    [['instruct', 'builder', '   '], /the message must be 1 to/],
    [['serve', 'agent:wizard'], /unknown role "wizard"/],
    [['serve', 'nonsense'], /unknown component "nonsense"/],
    [['mcp'], /--session-dir is required/],
  ])('%j: exit 2, one line, nothing written', async (args, message) => {
    const before = await rowCounts();
    // The first case through the built binary, the others in process.
    const outcome = args[2] === 'wizard' && args[1] === 'scale' ? await builtCli(...args) : await cli(...args);
    expect(outcome.code).toBe(2);
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
    expect(outcome.stderr).toMatch(message);
    expect(outcome.stdout).toBe('');
    expect(await rowCounts()).toEqual(before);
  });

  it('mcp with a session dir that was never prepared says so and exits non-zero', async () => {
    const outcome = await builtCli('mcp', '--session-dir', path.join(t.dir, 'no-such-session'));
    expect(outcome.code).not.toBe(0);
    expect(outcome.stderr).toMatch(/context\.json does not exist/);
    expect(fs.existsSync(path.join(t.dir, 'no-such-session', 'result.json'))).toBe(false);
  });
});
