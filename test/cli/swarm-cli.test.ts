/**
 * `autodev swarm ...` on SQLite and PostgreSQL, in process through `runCli`: discussions (threads, replies, topic and
 * recent views), proposals (propose, one vote per voter, approve into a story on a real git repository, reject with
 * a kept reason), status (text and --json); bad input exits 2 with one line and writes nothing. Two smoke tests run
 * the BUILT `claude-swarm` exactly as the guide types it (`npm run build` first).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileInGroup } from '../support/child-processes.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { runCliInProcessOn, type InProcessOutcome } from '../support/in-process-cli.js';
import { makeRepo, type TestRepo } from '../workspace/git-fixtures.js';

const CLAUDE_SWARM = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'cli', 'claude-swarm.js');

describe.each(DIALECTS)('%s: swarm commands', (dialect) => {
  let t: TestDatabase;
  let repo: TestRepo;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
    repo = await makeRepo();
  });
  afterAll(async () => {
    await t.drop();
    await repo.cleanup();
  });

  const cli = (...args: string[]) => runCliInProcessOn(t, ['swarm', ...args], { USER: 'alice' });
  const ok = async (...args: string[]) => {
    const outcome = await cli(...args);
    expect(outcome.code, outcome.stderr).toBe(0);
    return outcome.stdout;
  };
  const eventCount = async () =>
    Number(
      (
        await t.handle.db
          .selectFrom('events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  function expectRefused(outcome: InProcessOutcome, pattern: RegExp) {
    expect(outcome.code, outcome.stderr).toBe(2);
    expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
    expect(outcome.stderr).toMatch(pattern);
  }

  /** The claude-swarm binary as a user types it: data dir and database from the environment. */
  const claudeSwarm = (...args: string[]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent', USER: 'alice' };
    delete env.DATABASE_URL;
    for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
    if (t.databaseUrl) env.DATABASE_URL = t.databaseUrl;
    env.AUTODEV_DATA_DIR = t.sqlitePath ? path.dirname(t.sqlitePath) : t.dir;
    return execFileInGroup(process.execPath, [CLAUDE_SWARM, ...args], { env, cwd: t.dir, timeout: 20_000 });
  };

  it('posts threads and replies and shows them by recency and by topic', async () => {
    expect(await ok('discuss', '--recent')).toContain('no discussions yet');
    expect(await ok('discuss', '--topic', 'market-strategy', '--post', 'Freelancers want invoices')).toMatch(
      /^posted message \d+ in "market-strategy"\n$/,
    );
    const first = JSON.parse(await ok('discuss', '--recent', '1', '--json')).discussions[0];
    expect(first).toMatchObject({ author: 'cli:alice', author_kind: 'human', topic: 'market-strategy' });
    const reply = JSON.parse(await ok('discuss', '--reply', String(first.id), '--post', 'Agreed: PDF first', '--json'));
    expect(reply).toMatchObject({ topic: 'market-strategy', reply_to: first.id });
    await ok('discuss', '--topic', 'repo:sample', '--post', 'Tests are slow');

    const recent = await ok('discuss', '--recent');
    expect(recent).toMatch(new RegExp(`#${first.id} \\[market-strategy\\] cli:alice \\d+s ago\\n  Freelancers`));
    expect(recent).toContain(`  #${reply.id} [market-strategy] cli:alice`);
    expect(recent).toContain(`(reply to #${first.id})\n    Agreed: PDF first`);
    const topic = await ok('discuss', '--topic', 'market-strategy');
    expect(topic).toContain('Freelancers want invoices');
    expect(topic).not.toContain('Tests are slow');
    expect(JSON.parse(await ok('discuss', '--recent', '2', '--json')).discussions).toHaveLength(2);

    const before = await eventCount();
    expectRefused(await cli('discuss'), /--recent \[N\].*--topic T/);
    expectRefused(await cli('discuss', '--post', 'no topic'), /needs a topic/);
    expectRefused(await cli('discuss', '--reply', '999999', '--post', 'x'), /no discussion message has id 999999/);
    expectRefused(await cli('discuss', '--reply', String(first.id)), /--post/);
    expectRefused(await cli('discuss', '--recent', '0'), /--recent must be a whole number from 1 to 500/);
    expectRefused(await cli('discuss', '--recent', 'lots'), /--recent/);
    expectRefused(await cli('discuss', '--topic', 'x', '--post', '  '), /empty/);
    expectRefused(await cli('discuss', '--topic', 'x'.repeat(101), '--post', 'y'), /topic must be 1 to 100/);
    expectRefused(await cli('discuss', '--reply', '01', '--post', 'y'), /--reply must be a positive whole number/);
    expect(await eventCount()).toBe(before);
  });

  it('proposes, votes once, approves into a story and rejects with a kept reason', async () => {
    expect(await runCliInProcessOn(t, ['repos', 'add', repo.repo, '--name', 'sample'])).toMatchObject({ code: 0 });
    expect(await ok('proposals')).toBe('no proposals yet\n');
    const opened = await ok('propose', '--title', 'Add a sum helper', '--body', 'Asked for twice', '--repo', 'sample');
    const id = /^proposal (\d+) \(story\) opened: Add a sum helper\n$/.exec(opened)?.[1];
    expect(id).toBeDefined();
    expect(await ok('vote', id!, 'up', '--reason', 'cheap')).toBe(`voted up on proposal ${id}: 1 up, 0 down\n`);

    const before = await eventCount();
    expectRefused(await cli('vote', id!, 'down'), /cli:alice already voted on proposal \d+; one vote per voter/);
    expectRefused(await cli('vote', id!, 'sideways'), /a vote is up or down/);
    expectRefused(await cli('vote', 'x', 'up'), /proposal id must be a positive whole number/);
    expectRefused(await cli('vote', '424242', 'up'), /no proposal has id 424242/);
    expectRefused(await cli('propose', '--title', ' ', '--body', 'b'), /title must be 1 to 200/);
    expectRefused(await cli('propose', '--title', 't', '--body', 'b', '--kind', 'epic'), /--kind must be story or/);
    expectRefused(await cli('propose', '--title', 't', '--body', 'b', '--repo', 'nope'), /nope/);
    expectRefused(await cli('reject', id!), /needs a reason/);
    expectRefused(await cli('proposals', '--status', 'maybe'), /unknown proposal status "maybe"/);
    expectRefused(await cli('proposals', '--approved', '--status', 'open'), /disagree/);
    expect(await eventCount()).toBe(before);

    const approved = await ok('approve', id!);
    expect(approved).toMatch(new RegExp(`^proposal ${id} approved by cli:alice; story (\\d+) started`));
    const storyId = Number(/story (\d+) started/.exec(approved)![1]);
    const story = JSON.parse((await runCliInProcessOn(t, ['stories', 'show', String(storyId), '--json'])).stdout);
    expect(story).toMatchObject({ proposal_id: Number(id), title: 'Add a sum helper', stage: 'story' });
    expectRefused(await cli('approve', id!), /already approved by cli:alice/);

    await ok('propose', '--title', 'Rewrite in Rust', '--body', 'Speed', '--repo', 'sample');
    const rustId = JSON.parse(await ok('proposals', '--status', 'open', '--json')).proposals[0].id;
    expect(await ok('reject', String(rustId), '--reason', 'Not worth it now')).toBe(
      `proposal ${rustId} rejected by cli:alice: Not worth it now\n`,
    );
    const rejected = JSON.parse(await ok('proposals', '--status', 'rejected', '--json')).proposals;
    expect(rejected).toEqual([expect.objectContaining({ id: rustId, reason: 'Not worth it now' })]);

    const listed = await ok('proposals', '--approved');
    expect(listed).toMatch(/^ID\s+STATUS\s+KIND\s+VOTES\s+AUTHOR\s+WORK\s+TITLE\n/);
    expect(listed).toMatch(new RegExp(`${id}\\s+approved\\s+story\\s+\\+1/-0\\s+cli:alice\\s+story ${storyId}\\s+Add`));
    expect(listed).not.toContain('Rust');
    expect(await ok('proposals')).toContain(`proposal ${rustId} rejected: Not worth it now`);
  });

  it('status shows agents, queue, spend, limits, open approvals and the latest message (text and --json)', async () => {
    const now = Date.now();
    await t.handle.db
      .insertInto('agents')
      .values({
        instance_id: 'builder@host:1#0',
        role: 'builder',
        status: 'working',
        current_task_id: 7,
        provider: 'claude',
        host: 'host',
        pid: 1,
        status_detail: null,
        heartbeat_at: now,
        started_at: now,
      })
      .execute();
    await t.handle.db
      .insertInto('provider_limits')
      .values({ provider: 'codex', limited_until: now + 600_000, reason: 'limit', updated_at: now })
      .execute();
    const text = await ok('status');
    expect(text).toMatch(/agents \(1 live\)\n {2}builder\s+working\s+task 7\s+claude\s+builder@host:1#0\n/);
    expect(text).toMatch(/queue: 1 pending, 0 in progress, 0 completed, 0 failed, 0 cancelled\n/);
    expect(text).toMatch(/today: 0 tokens .*\$0\.00\n/);
    expect(text).toContain(`rate limited: codex until ${new Date(now + 600_000).toISOString()}`);
    expect(text).toMatch(/waiting for a human: 0 approval\(s\), 0 open proposal\(s\)/);
    expect(text).toMatch(/latest discussion: #\d+ \[repo:sample\] cli:alice: Tests are slow/);
    const json = JSON.parse(await ok('status', '--json'));
    expect(json).toMatchObject({
      agents: [{ role: 'builder', instance_id: 'builder@host:1#0', state: 'working', current_task_id: 7 }],
      queue: { pending: 1 },
      rate_limited: [{ provider: 'codex' }],
      latest_discussion: { topic: 'repo:sample' },
    });
  });

  it('claude-swarm (built) works as the guide types it: discuss --recent, proposals --approved, status', async () => {
    const recent = await claudeSwarm('discuss', '--recent');
    expect(recent.code, recent.stderr).toBe(0);
    expect(recent.stdout).toContain('Freelancers want invoices');
    const approved = await claudeSwarm('proposals', '--approved');
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toContain('Add a sum helper');
    const status = await claudeSwarm('status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^agents \(1 live\)/);
  });

  it('claude-swarm (built) refuses bad input with one line and exit 2', async () => {
    const outcome = await claudeSwarm('vote', '1', 'maybe');
    expect(outcome.code).toBe(2);
    expect(outcome.stderr).toMatch(/^autodev: a vote is up or down \(got "maybe"\)\n$/);
  });
});
