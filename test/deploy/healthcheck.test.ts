/**
 * deploy/healthcheck.mjs, the container health check of every service, run as the containers run it (node, its
 * environment): against a real HTTP server for the dashboard/webhook mode, and through the BUILT autodev CLI
 * (`npm run build` first) on a real database for the agents and database modes, on SQLite and PostgreSQL.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAgent, STALE_AGENT_MS } from '../../src/agents/agent-registry.js';
import { execFileInGroup } from '../support/child-processes.js';
import { DIALECTS, createTestDatabase, type TestDatabase } from '../support/dialects.js';

const HEALTHCHECK = fileURLToPath(new URL('../../deploy/healthcheck.mjs', import.meta.url));

/** Runs the health check with `env` on top of a clean environment (no AUTODEV_* or DATABASE_URL of the developer's). */
function runHealthcheck(env: Record<string, string>) {
  const clean: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  delete clean.DATABASE_URL;
  for (const name of Object.keys(clean)) if (name.startsWith('AUTODEV_')) delete clean[name];
  return execFileInGroup(process.execPath, [HEALTHCHECK], { env: { ...clean, ...env }, timeout: 40_000 });
}

describe('deploy/healthcheck.mjs: an HTTP endpoint', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((request, response) => {
      response.statusCode = request.url === '/health' ? 200 : 503;
      response.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('is healthy when the URL answers 2xx', async () => {
    expect(await runHealthcheck({ AUTODEV_HEALTHCHECK: `${base}/health` })).toMatchObject({ code: 0, stderr: '' });
  });

  it('is unhealthy when it answers 503, saying so', async () => {
    const outcome = await runHealthcheck({ AUTODEV_HEALTHCHECK: `${base}/ready` });
    expect(outcome).toMatchObject({ code: 1, stderr: `unhealthy: ${base}/ready answered 503\n` });
  });

  it('is unhealthy when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const outcome = await runHealthcheck({ AUTODEV_HEALTHCHECK: `http://127.0.0.1:${port}/health` });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(/^unhealthy: /);
  });

  it('refuses a mode it does not know', async () => {
    const outcome = await runHealthcheck({ AUTODEV_HEALTHCHECK: 'tcp:8080' });
    expect(outcome).toMatchObject({
      code: 1,
      stderr: 'unhealthy: AUTODEV_HEALTHCHECK must be an http(s) URL, "agents" or "database" (got "tcp:8080")\n',
    });
  });
});

describe.each(DIALECTS)('%s: deploy/healthcheck.mjs through the built CLI', (dialect) => {
  let t: TestDatabase;
  let databaseEnv: Record<string, string>;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
    databaseEnv = t.databaseUrl
      ? { DATABASE_URL: t.databaseUrl }
      : { AUTODEV_DATA_DIR: path.dirname(t.sqlitePath as string) };
  });
  afterAll(async () => {
    await t.drop();
  });

  it('agents: unhealthy while no agent of this host is registered, then while its only agent is silent', async () => {
    const none = await runHealthcheck({ ...databaseEnv, AUTODEV_HEALTHCHECK: 'agents' });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^unhealthy: no agent of this host \(.+\) is registered\n$/);

    await registerAgent(t.handle.db, {
      instanceId: 'builder-silent',
      role: 'builder',
      now: Date.now() - 2 * STALE_AGENT_MS,
    });
    const silent = await runHealthcheck({ ...databaseEnv, AUTODEV_HEALTHCHECK: 'agents' });
    expect(silent.code).toBe(1);
    expect(silent.stderr).toMatch(/^unhealthy: every agent of this host \(.+\) is crashed \(no heartbeat\)\n$/);
  });

  it('agents: healthy once an agent of this host heartbeats', async () => {
    await registerAgent(t.handle.db, { instanceId: 'builder-live', role: 'builder', now: Date.now() });
    expect(await runHealthcheck({ ...databaseEnv, AUTODEV_HEALTHCHECK: 'agents' })).toMatchObject({ code: 0 });
  });

  it('database: healthy when the database answers', async () => {
    expect(await runHealthcheck({ ...databaseEnv, AUTODEV_HEALTHCHECK: 'database' })).toMatchObject({ code: 0 });
  });
});

describe('deploy/healthcheck.mjs: a database that does not answer', () => {
  it('database: unhealthy, with the CLI error', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const outcome = await runHealthcheck({
      DATABASE_URL: `postgres://nobody:x@127.0.0.1:${port}/none`,
      AUTODEV_HEALTHCHECK: 'database',
    });
    expect(outcome.code).toBe(1);
    expect(outcome.stderr).toMatch(
      /^unhealthy: autodev schedules list --json failed: autodev: cannot connect to PostgreSQL/,
    );
  });
});
