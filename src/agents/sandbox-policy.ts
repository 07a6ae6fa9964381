/**
 * @module What every sandboxed step of the agent runtime sees: the environment a session's CLI starts with, the paths
 * hidden from sessions, gates, deploys and the saves of agents' work, and how a task clone is saved (`commitWip`).
 */
import type { Settings } from '../config/settings-schema.js';
import { masterKeyFile } from '../secrets/secret-providers.js';
import { defaultHiddenPaths, scrubEnvironment } from '../workspace/sandbox.js';
import type { SaveOptions } from '../workspace/worktrees.js';
import { homeDir, type CliProvider } from './agent-cli.js';
import type { AgentRuntimeDeps } from './run-agent-task.js';

/**
 * Paths no session, gate, deploy or save may see: the data dir (with `secrets.enc`), the secret store's master key
 * file wherever it is, credential stores, the operator's CLI state.
 */
export function hiddenPathsFor(deps: Pick<AgentRuntimeDeps, 'env' | 'dataDir'> & { settings?: Settings }): string[] {
  const keyFile = deps.settings?.secrets ? [masterKeyFile(deps.settings.secrets, deps.dataDir)] : [];
  return defaultHiddenPaths({ home: homeDir(deps.env), dataDir: deps.dataDir, env: deps.env, extra: keyFile });
}

/** How a task clone's work is saved: in the sandbox the session ran in (worktrees.ts `commitWip`). */
export function saveOptionsFor(
  deps: Pick<AgentRuntimeDeps, 'env' | 'dataDir' | 'settings' | 'bwrapPath'>,
): SaveOptions {
  return {
    mode: deps.settings.sandbox.mode,
    hiddenPaths: hiddenPathsFor(deps),
    ...(deps.bwrapPath ? { bwrapPath: deps.bwrapPath } : {}),
  };
}

/** Variables each provider's CLI needs from the environment (everything else is scrubbed). */
export const PROVIDER_ENV_ALLOWLIST: Record<CliProvider, string[]> = {
  claude: [
    'ANTHROPIC_API_KEY',
    'ANTHROPIC_AUTH_TOKEN',
    'ANTHROPIC_BASE_URL',
    'ANTHROPIC_MODEL',
    'CLAUDE_CODE_USE_BEDROCK',
    'CLAUDE_CODE_USE_VERTEX',
    'AWS_REGION',
    'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
  ],
  codex: ['OPENAI_API_KEY', 'OPENAI_BASE_URL'],
};

/** The environment a session of `provider` starts with: allowlisted variables, then the provider's configured env. */
export function providerSessionEnv(
  settings: Settings,
  env: Readonly<Record<string, string | undefined>>,
  provider: CliProvider,
): Record<string, string> {
  return { ...scrubEnvironment(env, PROVIDER_ENV_ALLOWLIST[provider]), ...settings.llm.providers[provider].env };
}
