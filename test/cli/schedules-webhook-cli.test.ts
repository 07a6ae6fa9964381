/**
 * @module `autodev schedules list` and `autodev serve webhook` through the CLI in process (same program, parsing and
 * exit codes as the binary), on both engines: the list shows next and last runs; the webhook server answers only
 * `/health` and the webhook routes, refusing an unsigned delivery.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { DIALECTS, useTestDatabase } from '../support/dialects.js';
import { runCliInProcessOn } from '../support/in-process-cli.js';

describe.each(DIALECTS)('%s: schedules and webhook commands', (dialect) => {
  const t = useTestDatabase(dialect);

  it('schedules list shows every schedule with its next slot and last run', async () => {
    const config = path.join(t.dir, 'schedules.yaml');
    fs.writeFileSync(config, 'schedules:\n  hourly-check:\n    cron: "0 * * * *"\n    task_type: static_analysis\n');
    await t.handle.db
      .insertInto('schedule_runs')
      .values({
        schedule_name: 'hourly-check',
        slot_at: Date.parse('2026-01-01T10:00:00Z'),
        fired_by: 'host:1:x',
        task_ids: '[7]',
        created_at: Date.parse('2026-01-01T10:00:00.120Z'),
      })
      .execute();
    const json = await runCliInProcessOn(t, ['--config', config, 'schedules', 'list', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const { schedules } = JSON.parse(json.stdout) as {
      schedules: { name: string; enabled: boolean; next_run_at: string | null; last_run: unknown }[];
    };
    expect(schedules.map((s) => [s.name, s.enabled])).toEqual([
      ['analyze-repo', false],
      ['hourly-check', true],
      ['prioritize-backlog', false],
      ['static-analysis', false],
    ]);
    const hourly = schedules.find((s) => s.name === 'hourly-check')!;
    expect(hourly.last_run).toEqual({
      slot_at: '2026-01-01T10:00:00.000Z',
      fired_at: '2026-01-01T10:00:00.120Z',
      fired_by: 'host:1:x',
      task_ids: [7],
    });
    expect(Date.parse(hourly.next_run_at!)).toBeGreaterThan(Date.now());
    const text = await runCliInProcessOn(t, ['--config', config, 'schedules', 'list']);
    expect(text.stdout).toMatch(/^NAME\s+TASK\s+CRON\s+ENABLED\s+NEXT RUN\s+LAST RUN\s+TASKS$/m);
    expect(text.stdout).toMatch(
      /hourly-check\s+static_analysis\s+0 \* \* \* \* \(UTC\)\s+yes\s+\S+\s+2026-01-01T10:00:00.000Z\s+7/,
    );
  });

  it('serve webhook listens with only /health and the webhook routes, and refuses an unsigned delivery', async () => {
    const shutdown = new AbortController();
    let stdout = '';
    let stderr = '';
    let exited: Promise<number> | undefined;
    const up = new Promise<string>((resolve) => {
      const env: Record<string, string | undefined> = { ...process.env, LOG_LEVEL: 'silent' };
      delete env.DATABASE_URL;
      for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
      if (t.databaseUrl) env.DATABASE_URL = t.databaseUrl;
      env.AUTODEV_GITHUB_WEBHOOK_SECRET = 'a-webhook-secret-for-the-test';
      const dataDir = t.sqlitePath ? path.dirname(t.sqlitePath) : t.dir;
      exited = runCli(['--data-dir', dataDir, 'serve', 'webhook', '--port', '0'], {
        env,
        cwd: t.dir,
        stdout: {
          write: (chunk: string) => {
            stdout += chunk;
            const url = /webhooks are up: (http:\/\/\S+?)\/webhooks/.exec(stdout)?.[1];
            if (url) resolve(url);
          },
        },
        stderr: { write: (chunk: string) => (stderr += chunk) },
        now: Date.now,
        listenForShutdown: () => shutdown.signal,
      });
    });
    const base = await up;
    try {
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      const unsigned = await fetch(`${base}/webhooks/github`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-event': 'issues', 'x-github-delivery': 'd1' },
        body: '{}',
      });
      expect(unsigned.status).toBe(401);
      const gitlab = await fetch(`${base}/webhooks/gitlab`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(gitlab.status).toBe(503); // no GitLab secret set
      expect(((await gitlab.json()) as { error: { code: string } }).error.code).toBe('WEBHOOK_NOT_CONFIGURED');
      expect((await fetch(`${base}/api/tasks`)).status).toBe(404);
    } finally {
      shutdown.abort();
    }
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/stopped\n$/);
    expect(stderr).toBe('');
  });
});
