/**
 * @module `autodev config show [--json]` (the effective settings and where each layer came from) and
 * `autodev config validate [FILE]` (exit 0 "valid", else exit 2 naming the file, key and reason).
 */
import path from 'node:path';
import YAML from 'yaml';
import { loadSettings, type SettingsSource } from '../../config/load-settings.js';
import type { Settings } from '../../config/settings-schema.js';
import { loadCliSettings, type CliDeps, type GlobalOptions } from '../context.js';
import { writeJson, writeLine } from '../format.js';
import { maskWebhookUrl } from '../../notify/webhook-url.js';

export type ConfigArgs = { globals: GlobalOptions } & (
  { action: 'show'; json?: boolean | undefined } | { action: 'validate'; file?: string | undefined }
);

/** Provider environment entries whose values are not printed. */
const SECRET_NAME = /key|token|secret|password|credential/i;

export async function run(args: ConfigArgs, deps: CliDeps): Promise<number> {
  if (args.action === 'validate') {
    const loaded = args.file
      ? loadSettings({ dataDir: deps.cwd, configFile: path.resolve(deps.cwd, args.file), env: {} })
      : loadCliSettings(args.globals, deps);
    const checked = args.file ? args.file : loaded.sources.map(describeSource).join('; ');
    writeLine(deps.stdout, `valid: ${checked}`);
    return 0;
  }
  const { settings, sources } = loadCliSettings(args.globals, deps);
  const shown = redactSecrets(settings);
  if (args.json) {
    writeJson(deps.stdout, { sources, settings: shown });
    return 0;
  }
  writeLine(deps.stdout, '# Effective settings; each source overrides the ones above it:');
  for (const source of sources) writeLine(deps.stdout, `#   ${describeSource(source)}`);
  deps.stdout.write(YAML.stringify(shown));
  return 0;
}

function describeSource(source: SettingsSource): string {
  switch (source.kind) {
    case 'defaults':
      return `shipped defaults: ${source.location}`;
    case 'file':
      return `settings file: ${source.location}`;
    case 'env':
      return `environment: ${source.location}`;
  }
}

function redactSecrets(settings: Settings): Settings {
  const redact = (env: Record<string, string>) =>
    Object.fromEntries(Object.entries(env).map(([name, value]) => [name, SECRET_NAME.test(name) ? '***' : value]));
  const { claude, codex } = settings.llm.providers;
  return {
    ...settings,
    llm: {
      ...settings.llm,
      providers: { claude: { ...claude, env: redact(claude.env) }, codex: { ...codex, env: redact(codex.env) } },
    },
    // A webhook URL carries its secret (Slack puts it in the path): shown masked.
    notify: {
      ...settings.notify,
      webhooks: settings.notify.webhooks.map((hook) => ({ ...hook, url: maskWebhookUrl(hook.url) })),
    },
  };
}
