import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings, queueSettingsFrom, shippedSettingsFile } from '../../src/config/load-settings.js';
import { findPackageRoot } from '../../src/config/package-root.js';
import { SettingsSchema } from '../../src/config/settings-schema.js';
import { AutodevError } from '../../src/errors.js';
import { DEFAULT_QUEUE_SETTINGS } from '../../src/queue/task-queue.js';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-settings-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** The CONFIG_INVALID message `fn` throws. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AutodevError);
    expect((error as AutodevError).code).toBe('CONFIG_INVALID');
    expect((error as AutodevError).exitCode).toBe(2);
    expect((error as AutodevError).message).not.toContain('\n');
    return (error as AutodevError).message;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

describe('shipped defaults', () => {
  it('load with no user file and no overrides, equal to the schema defaults', () => {
    const { settings, sources } = loadSettings({ dataDir: dir, env: {} });
    expect(settings).toEqual(SettingsSchema.parse({}));
    expect(sources).toEqual([{ kind: 'defaults', location: shippedSettingsFile() }]);
    expect(settings.tokens).toEqual({ daily_budget: 0, session_max: 200_000 });
    expect(settings.watcher).toEqual({ max_session_duration: 3600, restart_delay: 10 });
    expect(settings.llm).toMatchObject({
      default_provider: 'claude',
      fallback_provider: 'codex',
      auto_fallback_on_rate_limit: true,
      manual_override_env: 'SWARM_LLM_PROVIDER',
    });
    expect(settings.server).toMatchObject({ host: '127.0.0.1', port: 8080, max_event_streams: 1000 });
    expect(settings.sandbox.mode).toBe('bubblewrap');
    expect(settings.agents.builder.provider).toBeNull();
  });

  it('are found from the built code as well as the sources (walking up to package.json)', () => {
    const root = findPackageRoot();
    expect(fs.existsSync(path.join(root, 'package.json'))).toBe(true);
    expect(findPackageRoot(path.join(root, 'dist', 'src', 'config'))).toBe(root);
    expect(shippedSettingsFile()).toBe(path.join(root, 'config', 'settings.yaml'));
  });
});

describe('user file', () => {
  it('<data-dir>/settings.yaml deep-merges over the defaults', () => {
    const file = write(
      'settings.yaml',
      [
        'server:',
        '  port: 9000',
        'agents:',
        '  builder:',
        '    provider: codex',
        'llm:',
        '  providers:',
        '    claude:',
        '      env:',
        '        ANTHROPIC_BASE_URL: https://gateway.example',
        '        CLAUDE_CODE_USE_BEDROCK: 1',
        '    codex:',
        '      config:',
        '        model_provider: my-gateway',
        'sandbox:', // a section left empty keeps its defaults
      ].join('\n'),
    );
    const { settings, sources } = loadSettings({ dataDir: dir, env: {} });
    expect(settings.server).toMatchObject({ host: '127.0.0.1', port: 9000, max_event_streams: 1000 });
    expect(settings.agents.builder.provider).toBe('codex');
    expect(settings.agents.pm.provider).toBeNull();
    expect(settings.llm.providers.claude).toEqual({
      executable: null,
      model: null,
      env: { ANTHROPIC_BASE_URL: 'https://gateway.example', CLAUDE_CODE_USE_BEDROCK: '1' },
    });
    expect(settings.llm.providers.codex.config).toEqual({ model_provider: 'my-gateway' });
    expect(settings.llm.default_provider).toBe('claude');
    expect(settings.sandbox.mode).toBe('bubblewrap');
    expect(sources.map((s) => s.kind)).toEqual(['defaults', 'file']);
    expect(sources[1]?.location).toBe(file);
  });

  it('--config FILE is used instead of the data-dir file', () => {
    write('settings.yaml', 'server:\n  port: 9000\n');
    const other = write('other.yaml', 'server:\n  host: 0.0.0.0\n');
    const { settings, sources } = loadSettings({ dataDir: dir, configFile: other, env: {} });
    expect(settings.server).toMatchObject({ host: '0.0.0.0', port: 8080, max_event_streams: 1000 });
    expect(sources[1]?.location).toBe(other);
  });

  it('an empty file changes nothing', () => {
    write('settings.yaml', '# nothing yet\n');
    expect(loadSettings({ dataDir: dir, env: {} }).settings).toEqual(SettingsSchema.parse({}));
  });

  it('a missing --config file is an error naming it', () => {
    const missing = path.join(dir, 'nope.yaml');
    expect(configError(() => loadSettings({ dataDir: dir, configFile: missing, env: {} }))).toBe(
      `${missing}: cannot read it (no such file); check the path`,
    );
  });

  it('an unknown key is an error naming the file and the key path', () => {
    const file = write('settings.yaml', 'server:\n  prot: 9000\n');
    expect(configError(() => loadSettings({ dataDir: dir, env: {} }))).toBe(
      `${file}: server.prot: unknown key; known keys here: host, port, max_event_streams, max_event_streams_per_token, max_event_stream_buffer_bytes, max_event_stream_stall_seconds, health_port, database_wait_seconds`,
    );
    write('settings.yaml', 'tokens:\n  daily_budget: 1\nbogus: true\n');
    expect(configError(() => loadSettings({ dataDir: dir, env: {} }))).toMatch(
      new RegExp(`^${escape(file)}: bogus: unknown key; known keys here: tokens, watcher, llm, agents,`),
    );
    write('settings.yaml', 'agents:\n  janitor:\n    provider: codex\n');
    expect(configError(() => loadSettings({ dataDir: dir, env: {} }))).toContain(
      `${file}: agents.janitor: unknown key`,
    );
    write('settings.yaml', 'llm:\n  providers:\n    claude:\n      modle: opus\n');
    expect(configError(() => loadSettings({ dataDir: dir, env: {} }))).toBe(
      `${file}: llm.providers.claude.modle: unknown key; known keys here: executable, model, env`,
    );
  });

  it.each([
    ['server:\n  port: "abc"\n', 'server.port: expected a number, got "abc"'],
    ['server:\n  port: 80.5\n', 'server.port: expected a whole number, got 80.5'],
    ['server:\n  port: 70000\n', 'server.port: must be at most 65535, got 70000'],
    ['tokens:\n  daily_budget: -1\n', 'tokens.daily_budget: must be at least 0, got -1'],
    ['sandbox:\n  mode: docker\n', 'sandbox.mode: must be one of "bubblewrap", "none", got "docker"'],
    [
      'llm:\n  auto_fallback_on_rate_limit: "yes"\n',
      'llm.auto_fallback_on_rate_limit: expected true or false, got "yes"',
    ],
    [
      'agents:\n  builder:\n    provider: gpt\n',
      'agents.builder.provider: must be one of "claude", "codex", got "gpt"',
    ],
    ['server: 8080\n', 'server: expected a mapping of keys, got 8080'],
    ['queue:\n  lease_seconds: 10\n', 'queue.heartbeat_seconds: must be less than queue.lease_seconds (15 >= 10)'],
  ])('a wrong value is an error naming the file and key: %j', (text, expected) => {
    const file = write('settings.yaml', text);
    expect(configError(() => loadSettings({ dataDir: dir, env: {} }))).toContain(`${file}: ${expected}`);
  });

  it.each([
    ['server: [\n', /invalid YAML at line \d+, column \d+: /],
    ['server:\n  port: 1\n  port: 2\n', /invalid YAML at line 3, column 3: .*unique/i],
    ['\tserver: 1\n', /invalid YAML at line 1, column 1: /],
    ['- server\n- port\n', /must be a YAML mapping of settings .*, not a list$/],
  ])('invalid YAML is an error naming the file and where: %j', (text, expected) => {
    const file = write('settings.yaml', text);
    const message = configError(() => loadSettings({ dataDir: dir, env: {} }));
    expect(message.startsWith(`${file}: `)).toBe(true);
    expect(message).toMatch(expected);
  });
});

describe('environment overrides', () => {
  it('AUTODEV_<SECTION>__<KEY> values are parsed as YAML scalars and win over the file', () => {
    write('settings.yaml', 'server:\n  port: 9000\n');
    const { settings, sources } = loadSettings({
      dataDir: dir,
      env: {
        AUTODEV_SERVER__PORT: '9100',
        AUTODEV_TOKENS__DAILY_BUDGET: '5000',
        AUTODEV_LLM__AUTO_FALLBACK_ON_RATE_LIMIT: 'false',
        AUTODEV_LLM__PROVIDERS__CLAUDE__MODEL: 'claude-sonnet-4-5',
        AUTODEV_LLM__PROVIDERS__CLAUDE__ENV__ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000',
        AUTODEV_QUEUE__LEASE_SECONDS: '90.5',
        AUTODEV_DATA_DIR: '/elsewhere', // not a setting
        AUTODEV_TEST_DIALECTS: 'sqlite', // not a setting
        PORT: '1234', // not ours
      },
    });
    expect(settings.server.port).toBe(9100);
    expect(settings.tokens.daily_budget).toBe(5000);
    expect(settings.llm.auto_fallback_on_rate_limit).toBe(false);
    expect(settings.llm.providers.claude.model).toBe('claude-sonnet-4-5');
    expect(settings.llm.providers.claude.env).toEqual({ ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000' });
    expect(settings.queue.lease_seconds).toBe(90.5);
    expect(sources.map((s) => s.kind)).toEqual(['defaults', 'file', 'env']);
    expect(sources[2]?.location).toContain('AUTODEV_SERVER__PORT');
    expect(sources[2]?.location).not.toContain('AUTODEV_DATA_DIR');
  });

  it('an empty value sets null, where null is allowed', () => {
    const { settings } = loadSettings({ dataDir: dir, env: { AUTODEV_AGENTS__BUILDER__PROVIDER: '' } });
    expect(settings.agents.builder.provider).toBeNull();
  });

  it('a bad override is an error naming the variable', () => {
    expect(configError(() => loadSettings({ dataDir: dir, env: { AUTODEV_SERVER__PORT: 'abc' } }))).toBe(
      'environment variable AUTODEV_SERVER__PORT: server.port: expected a number, got "abc"',
    );
    expect(configError(() => loadSettings({ dataDir: dir, env: { AUTODEV_SERVER__PROT: '1' } }))).toBe(
      'environment variable AUTODEV_SERVER__PROT: server.prot: unknown key; known keys here: host, port, max_event_streams, max_event_streams_per_token, max_event_stream_buffer_bytes, max_event_stream_stall_seconds, health_port, database_wait_seconds',
    );
    expect(configError(() => loadSettings({ dataDir: dir, env: { AUTODEV_SANDBOX__MODE: 'docker' } }))).toMatch(
      /^environment variable AUTODEV_SANDBOX__MODE: sandbox.mode: must be one of/,
    );
    expect(configError(() => loadSettings({ dataDir: dir, env: { AUTODEV_SERVER____PORT: '1' } }))).toMatch(
      /^environment variable AUTODEV_SERVER____PORT: not a settings override; .*AUTODEV_SERVER__PORT=9000/,
    );
  });

  it('a valid file with a bad override blames the override, not the file', () => {
    write('settings.yaml', 'server:\n  port: 9000\n');
    const message = configError(() =>
      loadSettings({ dataDir: dir, env: { AUTODEV_TOKENS__SESSION_MAX: '0', AUTODEV_SERVER__HOST: 'example' } }),
    );
    expect(message).toBe(
      'environment variable AUTODEV_TOKENS__SESSION_MAX: tokens.session_max: must be at least 1, got 0',
    );
  });
});

describe('queueSettingsFrom', () => {
  it('converts the shipped seconds to the queue defaults in ms', () => {
    expect(queueSettingsFrom(SettingsSchema.parse({}))).toEqual(DEFAULT_QUEUE_SETTINGS);
  });

  it('converts fractional seconds and every field', () => {
    const settings = SettingsSchema.parse({
      queue: {
        lease_seconds: 2.5,
        heartbeat_seconds: 0.5,
        reclaim_seconds: 1.5,
        max_attempts: 7,
        retry_base_seconds: 0.25,
        retry_max_seconds: 30,
      },
    });
    expect(queueSettingsFrom(settings)).toEqual({
      leaseMs: 2500,
      heartbeatMs: 500,
      reclaimMs: 1500,
      maxAttempts: 7,
      backoff: { baseMs: 250, maxMs: 30_000 },
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
