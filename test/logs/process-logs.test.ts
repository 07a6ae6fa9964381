/**
 * The process log: a logger with the store's sink records warn+ and lifecycle lines (masked) in `process_logs`,
 * survives a store that does not answer, and `autodev logs` / `GET /api/logs` read them with their filters; `--follow`
 * prints lines committed later, also one whose transaction commits after a newer one (PostgreSQL). Both databases.
 */
import { describe, expect, it } from 'vitest';
import { run as runLogs } from '../../src/cli/commands/logs.js';
import { createLogger } from '../../src/log.js';
import { ProcessLogSink, processIdentity } from '../../src/logs/process-log-sink.js';
import { followProcessLogs, processLogNow } from '../../src/logs/read-process-logs.js';
import { SecretMasker } from '../../src/secrets/secret-masker.js';
import { openDatabase } from '../../src/store/open-database.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../support/dialects.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';
import { errorOf, useTestServer } from '../server/test-server.js';
import path from 'node:path';

const SECRET = 'sk-ant-secret-value-0123456789';

async function logRows(t: TestDatabase) {
  return t.handle.db.selectFrom('process_logs').selectAll().orderBy('id').execute();
}

describe.each(DIALECTS)('%s: process log', (dialect) => {
  const t = useTestDatabase(dialect);

  it('records warn and above and lifecycle info lines, masked, with the role of the agent they are about', async () => {
    const sink = new ProcessLogSink(processIdentity('agent:builder', ['builder'], Date.now()));
    const logger = createLogger({
      level: 'debug',
      destination: { write: () => true } as unknown as NodeJS.WritableStream,
      masker: new SecretMasker([SECRET]),
      store: sink,
    });
    sink.attach(t.handle.db);
    logger.debug('chatter, not recorded');
    logger.info('info chatter, not recorded');
    logger.info({ lifecycle: true }, 'agent:builder process started');
    logger.child({ agent: 'tester@host:1#1' }).warn({ detail: `key ${SECRET}` }, 'provider refused the key');
    logger.error({ err: new Error('boom') }, 'worker error');
    await sink.close();
    const rows = await logRows(t);
    expect(rows.map((r) => [r.level, r.message, r.role, r.service])).toEqual([
      [30, 'agent:builder process started', 'builder', 'agent:builder'],
      [40, 'provider refused the key', 'tester', 'agent:builder'],
      [50, 'worker error', 'builder', 'agent:builder'],
    ]);
    expect(JSON.stringify(rows)).not.toContain(SECRET);
    expect(rows[1]!.data).toContain('[masked]');
  });

  it('keeps lines while the store does not answer, bounded, and writes them and the count it lost later', async () => {
    await t.handle.db.deleteFrom('process_logs').execute();
    const sink = new ProcessLogSink(processIdentity('webhook', [], Date.now()), { maxQueued: 3, flushEveryMs: 60_000 });
    const down = await openDatabase(
      dialect === 'sqlite' ? { sqlitePath: path.join(t.dir, 'down.db') } : { databaseUrl: t.databaseUrl },
    );
    await down.close(); // a closed handle: every insert fails, as with the database gone
    sink.attach(down.db);
    const logger = createLogger({
      destination: { write: () => true } as unknown as NodeJS.WritableStream,
      store: sink,
    });
    for (let i = 1; i <= 5; i++) logger.warn(`line ${i}`);
    await sink.flush(); // fails, and neither throws nor loses the queue
    expect(sink.pending()).toEqual({ queued: 3, dropped: 2 });
    await sink.close(100);
    sink.attach(t.handle.db);
    await sink.flush();
    await sink.close();
    expect((await logRows(t)).map((r) => r.message)).toEqual([
      '2 log lines were not recorded: the store did not answer for a while',
      'line 3',
      'line 4',
      'line 5',
    ]);
  });

  it('autodev logs filters by role, level and time, as text and JSON; bad values exit 2', async () => {
    await t.handle.db.deleteFrom('process_logs').execute();
    const now = Date.now();
    const row = (role: string | null, level: number, message: string, ago: number) => ({
      process_id: 'p1',
      service: role ? `agent:${role}` : 'dashboard',
      host: 'host-a',
      pid: 42,
      role,
      component: null,
      level,
      message,
      data: null,
      created_at: now - ago,
    });
    await t.handle.db
      .insertInto('process_logs')
      .values([
        row('pm', 50, 'pm failed long ago', 3 * 3_600_000),
        row('pm', 40, 'pm warned', 60_000),
        row('builder', 50, 'builder failed', 30_000),
        row(null, 30, 'dashboard process started', 10_000),
      ])
      .execute();
    const all = await runCliInProcessOn(t, ['logs']);
    expect(all.code).toBe(0);
    expect(all.stdout.trim().split('\n')).toHaveLength(4);
    expect(all.stdout).toMatch(/ERROR agent:builder builder host-a:42 builder failed/);
    const errorsLastHour = await runCliInProcessOn(t, ['logs', '--level', 'error', '--since', '1h', '--json']);
    expect(
      errorsLastHour.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { message: string }).message),
    ).toEqual(['builder failed']);
    const pm = await runCliInProcessOn(t, ['logs', '--agent', 'pm', '--json']);
    expect(
      pm.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { message: string }).message),
    ).toEqual(['pm failed long ago', 'pm warned']);
    for (const bad of [
      ['--agent', 'nobody'],
      ['--level', 'loud'],
      ['--since', 'yesterday'],
      ['--limit', '0'],
    ]) {
      const outcome = await runCliInProcessOn(t, ['logs', ...bad]);
      expect(outcome.code, bad.join(' ')).toBe(2);
      expect(outcome.stderr.trim().split('\n')).toHaveLength(1);
      expect(outcome.stdout).toBe('');
    }
  });

  it('autodev logs --follow prints lines written after it started, until stopped', async () => {
    const abort = new AbortController();
    let stdout = '';
    const env: Record<string, string | undefined> = { LOG_LEVEL: 'silent', PATH: process.env.PATH, HOME: t.dir };
    if (t.databaseUrl) env.DATABASE_URL = t.databaseUrl;
    const done = runLogs(
      { globals: { dataDir: t.sqlitePath ? path.dirname(t.sqlitePath) : t.dir }, follow: true, level: 'error' },
      {
        env,
        cwd: t.dir,
        stdout: { write: (text: string) => (stdout += text) },
        stderr: { write: () => true },
        now: Date.now,
        listenForShutdown: () => abort.signal,
      },
    );
    try {
      const sink = new ProcessLogSink(processIdentity('scheduler', [], Date.now()));
      const logger = createLogger({
        destination: { write: () => true } as unknown as NodeJS.WritableStream,
        store: sink,
      });
      sink.attach(t.handle.db);
      // Written before the error lines, so the follow read has passed it once one of them shows.
      logger.warn('a warning the filter hides');
      await expect
        .poll(
          async () => {
            logger.error('followed line');
            await sink.flush();
            return stdout;
          },
          { timeout: 20_000, interval: 500 },
        )
        .toMatch(/ERROR scheduler \S+ followed line/);
      await sink.close();
    } finally {
      abort.abort();
    }
    expect(await done).toBe(0);
    expect(stdout).not.toContain('a warning the filter hides');
  });
});

describe.each(DIALECTS.filter((d) => d === 'postgres'))('%s: following the process log', (dialect) => {
  const t = useTestDatabase(dialect);

  it('following never skips a line whose transaction commits after a newer one', async () => {
    await t.handle.db.deleteFrom('process_logs').execute();
    const line = (message: string) => ({
      process_id: 'p',
      service: 'up',
      host: 'h',
      pid: 1,
      level: 40,
      message,
      created_at: Date.now(),
    });
    let cursor = await processLogNow(t.handle);
    let releaseSlow!: () => void;
    const slowMayCommit = new Promise<void>((resolve) => (releaseSlow = resolve));
    let slowWrote!: () => void;
    const slowHasWritten = new Promise<void>((resolve) => (slowWrote = resolve));
    const slow = t.handle.db.transaction().execute(async (tx) => {
      await tx.insertInto('process_logs').values(line('older id, commits last')).execute();
      slowWrote();
      await slowMayCommit;
    });
    await slowHasWritten;
    await t.handle.db.insertInto('process_logs').values(line('newer id, commits first')).execute();
    const early = await followProcessLogs(t.handle, cursor, {}, 100);
    expect(early.lines).toEqual([]); // held back below the horizon, not skipped
    cursor = early.cursor;
    releaseSlow();
    await slow;
    // The horizon can lag behind on a busy cluster (other transactions): read until both lines came, in order.
    const read: string[] = [];
    await expect
      .poll(
        async () => {
          const next = await followProcessLogs(t.handle, cursor, {}, 100);
          cursor = next.cursor;
          read.push(...next.lines.map((l) => l.message));
          return read;
        },
        { timeout: 30_000, interval: 200 },
      )
      .toEqual(['older id, commits last', 'newer id, commits first']);
  });
});

describe.each(DIALECTS)('%s: GET /api/logs', (dialect) => {
  const s = useTestServer(dialect);

  it('lists the recorded lines with the filters; a bad filter is a 400 that names it', async () => {
    await s.db.handle.db
      .insertInto('process_logs')
      .values([
        {
          process_id: 'p',
          service: 'agent:pm',
          host: 'h',
          pid: 1,
          role: 'pm',
          level: 50,
          message: 'pm broke',
          created_at: Date.now(),
        },
        {
          process_id: 'p',
          service: 'up',
          host: 'h',
          pid: 1,
          role: null,
          level: 40,
          message: 'up warned',
          created_at: Date.now(),
        },
      ])
      .execute();
    const response = await s.request({
      method: 'GET',
      url: '/api/logs?role=pm&level=error&since=1h',
      token: s.tokens.viewer,
    });
    expect(response.statusCode).toBe(200);
    expect((response.json() as { lines: { message: string; level: string }[] }).lines).toMatchObject([
      { message: 'pm broke', level: 'error' },
    ]);
    const bad = await s.request({ method: 'GET', url: '/api/logs?level=loud' });
    expect(bad.statusCode).toBe(400);
    expect(errorOf(bad).message).toMatch(/level must be one of info, warn, error, fatal/);
  });
});
