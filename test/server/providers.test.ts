/**
 * @module `GET /api/providers` on both databases, with a real temporary HOME and real settings: no provider logged
 * in (and what to do), a key in the environment (named, never shown), a login file, a variable the sandbox would drop
 * (does not count), a rate limit, a missing executable, the manual override and per-role providers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { markProviderLimited } from '../../src/agents/provider-limits.js';
import { SettingsSchema, type SettingsInput } from '../../src/config/settings-schema.js';
import { createLogger } from '../../src/log.js';
import { DEFAULT_QUEUE_SETTINGS, TaskQueue } from '../../src/queue/task-queue.js';
import { buildServer } from '../../src/server/build-server.js';
import { DIALECTS } from '../support/dialects.js';
import { useTestServer } from './test-server.js';

interface ProviderBody {
  name: string;
  used_by: string[];
  executable: { found: boolean; path: string | null; problem: string | null };
  login: { logged_in: boolean; via: string | null; how_to_login: string };
  limited_until: string | null;
  limit_reason: string | null;
  usable: boolean;
}

describe.each(DIALECTS)('%s: GET /api/providers', (dialect) => {
  const s = useTestServer(dialect);
  let home: string;
  const apps: FastifyInstance[] = [];
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-providers-home-'));
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    fs.rmSync(home, { recursive: true, force: true });
  });

  const ask = async (env: Record<string, string>, settings: SettingsInput = {}, token = s.tokens.viewer) => {
    const app = await buildServer({
      handle: s.db.handle,
      queue: new TaskQueue(s.db.handle, DEFAULT_QUEUE_SETTINGS),
      logger: createLogger({ level: 'silent', pretty: false }),
      version: 'test',
      settings: SettingsSchema.parse(settings),
      env: { HOME: home, PATH: '/usr/bin:/bin', ...env },
    });
    apps.push(app);
    const response = await app.inject({
      method: 'GET',
      url: '/api/providers',
      headers: { authorization: `Bearer ${token}` },
    });
    const body = response.json();
    const byName = (name: string) => (body.providers as ProviderBody[]).find((p) => p.name === name)!;
    return { response, body, claude: byName('claude'), codex: byName('codex') };
  };

  it('says no provider can run when none is logged in, with what to do, for a viewer', async () => {
    const { response, body, claude, codex } = await ask({});
    expect(response.statusCode, response.body).toBe(200);
    expect(body).toMatchObject({
      default_provider: 'claude',
      fallback_provider: 'codex',
      forced_provider: null,
      can_run: false,
      logged_in_any: false,
    });
    expect(claude.executable.found).toBe(true); // the CLI bundled with the SDK
    expect(claude.login).toEqual({
      logged_in: false,
      via: null,
      how_to_login: expect.stringContaining('claude login'),
    });
    expect(codex.login.how_to_login).toContain('codex login');
    expect(claude.used_by).toEqual([
      'pm',
      'architect',
      'builder',
      'reviewer',
      'tester',
      'security',
      'devops',
      'bug_finder',
    ]);
    expect(codex.used_by).toEqual(['fallback']);
    expect(claude.usable).toBe(false);
  });

  it('counts a key in the environment by name and never returns it; a login file counts too', async () => {
    const secret = 'sk-ant-api03-very-secret';
    const { body, claude, codex } = await ask({ ANTHROPIC_API_KEY: secret });
    expect(claude.login).toMatchObject({ logged_in: true, via: 'ANTHROPIC_API_KEY' });
    expect(claude.usable).toBe(true);
    expect(codex.login.logged_in).toBe(false);
    expect(body.can_run).toBe(true);
    expect(JSON.stringify(body)).not.toContain(secret);

    fs.mkdirSync(path.join(home, '.codex'));
    fs.writeFileSync(path.join(home, '.codex', 'auth.json'), '{"tokens":{"access_token":"secret-codex"}}');
    const again = await ask({});
    expect(again.codex.login).toMatchObject({ logged_in: true, via: path.join(home, '.codex', 'auth.json') });
    expect(again.body.can_run).toBe(true);
    expect(JSON.stringify(again.body)).not.toContain('secret-codex');
  });

  it('counts what sessions get: llm.providers.<name>.env yes, a variable the sandbox drops no', async () => {
    // CODEX_API_KEY is not passed to sessions from the process environment (PROVIDER_ENV_ALLOWLIST).
    const dropped = await ask({ CODEX_API_KEY: 'sk-x' });
    expect(dropped.codex.login.logged_in).toBe(false);
    const viaSettings = await ask({}, { llm: { providers: { codex: { env: { OPENAI_API_KEY: 'sk-y' } } } } });
    expect(viaSettings.codex.login).toMatchObject({ logged_in: true, via: 'OPENAI_API_KEY' });
  });

  it('shows a rate limit: logged in but not usable until the reset', async () => {
    const until = Date.now() + 3_600_000;
    await markProviderLimited(s.db.handle.db, { provider: 'claude', until, reason: 'session limit', now: Date.now() });
    try {
      const { body, claude } = await ask({ ANTHROPIC_API_KEY: 'k' });
      expect(claude).toMatchObject({
        usable: false,
        limited_until: new Date(until).toISOString(),
        limit_reason: 'session limit',
      });
      expect(body).toMatchObject({ can_run: false, logged_in_any: true });
    } finally {
      await s.db.handle.db.deleteFrom('provider_limits').execute();
    }
  });

  it('reports a configured executable that is not there, with the setting to change', async () => {
    const { claude } = await ask(
      { ANTHROPIC_API_KEY: 'k' },
      { llm: { providers: { claude: { executable: '/nonexistent/claude' } } } },
    );
    expect(claude.executable).toMatchObject({ found: false, path: null });
    expect(claude.executable.problem).toContain('llm.providers.claude.executable');
    expect(claude.usable).toBe(false);
  });

  it('follows the manual override and per-role providers', async () => {
    const forced = await ask({ SWARM_LLM_PROVIDER: 'codex' });
    expect(forced.body).toMatchObject({ forced_provider: 'codex', fallback_provider: null });
    expect(forced.codex.used_by).toHaveLength(8);
    expect(forced.claude.used_by).toEqual([]);

    const perRole = await ask({}, { agents: { builder: { provider: 'codex' } }, llm: { default_provider: 'claude' } });
    expect(perRole.codex.used_by).toEqual(['builder', 'fallback']);
    expect(perRole.claude.used_by).not.toContain('builder');
  });

  it('needs a token', async () => {
    const response = await s.request({ method: 'GET', url: '/api/providers', token: null });
    expect(response.statusCode).toBe(401);
  });
});
