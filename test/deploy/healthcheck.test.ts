/**
 * deploy/healthcheck.mjs, the container health check of every service, run as the containers run it (node, its
 * environment) against a real HTTP server, a stand-in for a process's `/health` (200) and `/ready` (503: not ready).
 * That every process serves both (agent and scheduler processes on `--health-port`) is checked by
 * test/queue-processes/split-services.test.ts with the built CLI.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileInGroup } from '../support/child-processes.js';

const HEALTHCHECK = fileURLToPath(new URL('../../deploy/healthcheck.mjs', import.meta.url));

/** Runs the health check with `env` on top of a clean environment (no AUTODEV_* or DATABASE_URL of the developer's). */
function runHealthcheck(env: Record<string, string>) {
  const clean: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  delete clean.DATABASE_URL;
  for (const name of Object.keys(clean)) if (name.startsWith('AUTODEV_')) delete clean[name];
  return execFileInGroup(process.execPath, [HEALTHCHECK], { env: { ...clean, ...env }, timeout: 40_000 });
}

describe('deploy/healthcheck.mjs: an HTTP endpoint (a stand-in server)', () => {
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

  it('refuses anything but an http(s) URL, the old `agents` and `database` modes too', async () => {
    for (const check of ['tcp:8080', 'agents', 'database']) {
      const outcome = await runHealthcheck({ AUTODEV_HEALTHCHECK: check });
      expect(outcome).toMatchObject({
        code: 1,
        stderr: `unhealthy: AUTODEV_HEALTHCHECK must be an http(s) URL (got "${check}")\n`,
      });
    }
  });
});
