/**
 * @module The login check per provider over a real temporary HOME: no credentials, each CLI's login file, API key
 * variables (blank ones do not count), cloud and custom-provider settings, CLAUDE_CONFIG_DIR / CODEX_HOME. The answer
 * names where credentials are and never contains a secret.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialsFile, providerLogin, type LoginCheckInput } from '../../src/llm/provider-status.js';

describe('providerLogin', () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-home-'));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  const input = (env: LoginCheckInput['env'] = {}, extra: Partial<LoginCheckInput> = {}): LoginCheckInput => ({
    env,
    home,
    exists: (file) => fs.existsSync(file),
    ...extra,
  });
  const write = (relative: string) => {
    const file = path.join(home, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"secret":"do-not-show"}');
    return file;
  };

  it('says neither is logged in with an empty HOME and no keys, and how to log in', () => {
    // The CLIs' state directories without a login file do not count.
    fs.mkdirSync(path.join(home, '.claude', 'projects'), { recursive: true });
    fs.mkdirSync(path.join(home, '.codex', 'tmp'), { recursive: true });
    const claude = providerLogin('claude', input());
    const codex = providerLogin('codex', input());
    expect(claude).toEqual({ logged_in: false, via: null, how_to_login: expect.stringContaining('claude login') });
    expect(claude.how_to_login).toContain('ANTHROPIC_API_KEY');
    expect(codex).toEqual({ logged_in: false, via: null, how_to_login: expect.stringContaining('codex login') });
    expect(codex.how_to_login).toContain('OPENAI_API_KEY');
  });

  it("finds the file each CLI's login writes", () => {
    const claudeFile = write('.claude/.credentials.json');
    const codexFile = write('.codex/auth.json');
    expect(providerLogin('claude', input())).toMatchObject({ logged_in: true, via: claudeFile });
    expect(providerLogin('codex', input())).toMatchObject({ logged_in: true, via: codexFile });
  });

  it('follows CLAUDE_CONFIG_DIR and CODEX_HOME', () => {
    write('.claude/.credentials.json');
    const claudeDir = path.join(home, 'elsewhere-claude');
    const codexDir = path.join(home, 'elsewhere-codex');
    const env = { CLAUDE_CONFIG_DIR: claudeDir, CODEX_HOME: codexDir };
    expect(credentialsFile('claude', env, home)).toBe(path.join(claudeDir, '.credentials.json'));
    expect(providerLogin('claude', input(env)).logged_in).toBe(false);
    expect(providerLogin('codex', input(env)).logged_in).toBe(false);
    write('elsewhere-codex/auth.json');
    expect(providerLogin('codex', input(env))).toMatchObject({
      logged_in: true,
      via: path.join(codexDir, 'auth.json'),
    });
  });

  it('counts API key variables by name (never their value); blank values do not count', () => {
    const claude = providerLogin('claude', input({ ANTHROPIC_API_KEY: 'sk-ant-secret-value' }));
    expect(claude).toMatchObject({ logged_in: true, via: 'ANTHROPIC_API_KEY' });
    expect(JSON.stringify(claude)).not.toContain('secret-value');
    expect(providerLogin('claude', input({ ANTHROPIC_AUTH_TOKEN: 't' })).via).toBe('ANTHROPIC_AUTH_TOKEN');
    expect(providerLogin('codex', input({ OPENAI_API_KEY: 'sk-x' })).via).toBe('OPENAI_API_KEY');
    expect(providerLogin('codex', input({ CODEX_API_KEY: 'sk-x' })).via).toBe('CODEX_API_KEY');
    expect(providerLogin('claude', input({ ANTHROPIC_API_KEY: '  ' })).logged_in).toBe(false);
    // One provider's key does not log in the other.
    expect(providerLogin('codex', input({ ANTHROPIC_API_KEY: 'sk-ant' })).logged_in).toBe(false);
  });

  it('accepts Bedrock/Vertex for claude and a custom model provider for codex', () => {
    expect(providerLogin('claude', input({ CLAUDE_CODE_USE_BEDROCK: '1' })).via).toBe('CLAUDE_CODE_USE_BEDROCK');
    expect(providerLogin('claude', input({ CLAUDE_CODE_USE_VERTEX: 'true' })).via).toBe('CLAUDE_CODE_USE_VERTEX');
    expect(providerLogin('claude', input({ CLAUDE_CODE_USE_BEDROCK: '0' })).logged_in).toBe(false);
    expect(providerLogin('codex', input({}, { codexConfig: { model_provider: 'gateway' } })).via).toBe(
      'llm.providers.codex.config.model_provider',
    );
    expect(providerLogin('codex', input({}, { codexConfig: { model: 'x' } })).logged_in).toBe(false);
  });
});
