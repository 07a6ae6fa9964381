/**
 * @module The README's example of pointing Claude Code and Codex at a gateway or a local model server is a valid
 * settings file: loaded by the settings loader, it gives the CLIs the environment and Codex config it promises, and
 * both providers count as logged in by it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkProvider } from '../../src/agents/provider-readiness.js';
import { providerSessionEnv } from '../../src/agents/sandbox-policy.js';
import { findPackageRoot } from '../../src/config/package-root.js';
import { loadSettings } from '../../src/config/load-settings.js';
import { codexConfig, type CodexProviderOptions } from '../../src/llm/codex-provider.js';

const HEADING = '## Claude Code and Codex through a gateway or a local model server';

/** The first ```yaml block under the README's gateway section. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(findPackageRoot(), 'README.md'), 'utf8');
  const section = readme.indexOf(HEADING);
  expect(section, `README.md has a section "${HEADING}"`).toBeGreaterThanOrEqual(0);
  const block = /```yaml\n([\s\S]*?)```/.exec(readme.slice(section));
  if (!block?.[1]) throw new Error('the gateway section of README.md has no yaml block');
  return block[1];
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-readme-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("README's gateway example", () => {
  const file = path.join(dir, 'settings.yaml');
  fs.writeFileSync(file, readmeExample());

  it('loads with the settings loader (strict schema) and gives each CLI what the README says', () => {
    const { settings } = loadSettings({ dataDir: dir, configFile: file, env: {} });
    expect(settings.llm.providers.claude.env).toEqual({
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000',
      ANTHROPIC_AUTH_TOKEN: 'sk-gateway-replace-me',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    });
    expect(settings.llm.providers.codex.env).toEqual({ GATEWAY_API_KEY: 'sk-gateway-replace-me' });
    // The session environment: the configured variables reach the CLI, whatever the process environment lacks.
    const env = { HOME: dir, PATH: '/usr/bin' };
    expect(providerSessionEnv(settings, env, 'claude')).toMatchObject({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000' });
    expect(providerSessionEnv(settings, env, 'codex')).toMatchObject({ GATEWAY_API_KEY: 'sk-gateway-replace-me' });
    // The Codex SDK gets the custom provider as config overrides (`--config` flags).
    const config = codexConfig(
      { prompt: 'p', cwd: dir, env: {}, signal: new AbortController().signal, readOnly: false },
      { config: settings.llm.providers.codex.config as CodexProviderOptions['config'] },
    );
    expect(config).toMatchObject({
      model_provider: 'gateway',
      model_providers: {
        gateway: { base_url: 'http://127.0.0.1:4000/v1', wire_api: 'responses', env_key: 'GATEWAY_API_KEY' },
      },
    });
  });

  it('counts both providers as logged in', () => {
    const { settings } = loadSettings({ dataDir: dir, configFile: file, env: {} });
    const env = { HOME: dir, PATH: '/usr/bin' };
    expect(checkProvider(settings, env, 'claude').login).toMatchObject({
      logged_in: true,
      via: 'ANTHROPIC_AUTH_TOKEN',
    });
    expect(checkProvider(settings, env, 'codex').login).toMatchObject({
      logged_in: true,
      via: 'llm.providers.codex.config.model_provider',
    });
  });
});
