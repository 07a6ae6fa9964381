/**
 * @module Whether each agent CLI has credentials to run with, judged the way the CLIs look for them, from the
 * environment a session gets (the allowlisted variables plus `llm.providers.<name>.env`) and the existence of each
 * CLI's login file under HOME. Pure: the caller passes the environment and a file-existence check. It never reads a
 * file or returns a secret; it names where the credentials were found (a variable name or a path).
 *
 * - claude: `ANTHROPIC_API_KEY`, `ANTHROPIC_AUTH_TOKEN` or `CLAUDE_CODE_OAUTH_TOKEN`; Bedrock/Vertex
 *   (`CLAUDE_CODE_USE_BEDROCK`/`CLAUDE_CODE_USE_VERTEX`: the cloud's own credentials, not checked); or the file
 *   `claude login` writes, `<CLAUDE_CONFIG_DIR or ~/.claude>/.credentials.json`.
 * - codex: `OPENAI_API_KEY` or `CODEX_API_KEY`; a custom `model_provider` in `llm.providers.codex.config` (its own
 *   key variable, not checked); or the file `codex login` writes, `<CODEX_HOME or ~/.codex>/auth.json`.
 *
 * ### Examples
 * ```ts
 * providerLogin('claude', { env: { ANTHROPIC_API_KEY: 'sk-…' }, home: '/home/dev', exists: fs.existsSync })
 * // { logged_in: true, via: 'ANTHROPIC_API_KEY', how_to_login: '…' }
 * ```
 */
import path from 'node:path';

export type CliProviderName = 'claude' | 'codex';

export interface LoginCheckInput {
  /** The environment the CLI would run with (only names and presence are used). */
  env: Readonly<Record<string, string | undefined>>;
  /** The HOME the CLI runs with. */
  home: string;
  exists: (file: string) => boolean;
  /** `llm.providers.codex.config` (a custom `model_provider` brings its own credentials). */
  codexConfig?: Readonly<Record<string, unknown>>;
}

export interface ProviderLogin {
  logged_in: boolean;
  /** Where the credentials were found: a variable name, a file path or a setting; null when none. */
  via: string | null;
  /** What a human does to log this provider in. */
  how_to_login: string;
}

const KEY_VARIABLES: Record<CliProviderName, readonly string[]> = {
  claude: ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN'],
  codex: ['OPENAI_API_KEY', 'CODEX_API_KEY'],
};

export const HOW_TO_LOGIN: Record<CliProviderName, string> = {
  claude:
    'run "claude login" as the user that runs Auto-Dev, or set ANTHROPIC_API_KEY (in the environment or ' +
    'llm.providers.claude.env)',
  codex:
    'run "codex login" as the user that runs Auto-Dev, or set OPENAI_API_KEY (in the environment or ' +
    'llm.providers.codex.env)',
};

const isSet = (value: string | undefined) => value !== undefined && value.trim() !== '';
const isTruthy = (value: string | undefined) => isSet(value) && !/^(?:0|false|no|off)$/i.test(value!.trim());

/** The login file each CLI writes, given the session environment and HOME. */
export function credentialsFile(provider: CliProviderName, env: LoginCheckInput['env'], home: string): string {
  if (provider === 'claude') {
    const dir = isSet(env.CLAUDE_CONFIG_DIR) ? env.CLAUDE_CONFIG_DIR! : path.join(home, '.claude');
    return path.join(dir, '.credentials.json');
  }
  const dir = isSet(env.CODEX_HOME) ? env.CODEX_HOME! : path.join(home, '.codex');
  return path.join(dir, 'auth.json');
}

export function providerLogin(provider: CliProviderName, input: LoginCheckInput): ProviderLogin {
  const result = (via: string | null): ProviderLogin => ({
    logged_in: via !== null,
    via,
    how_to_login: HOW_TO_LOGIN[provider],
  });
  const variable = KEY_VARIABLES[provider].find((name) => isSet(input.env[name]));
  if (variable) return result(variable);
  if (provider === 'claude') {
    if (isTruthy(input.env.CLAUDE_CODE_USE_BEDROCK)) return result('CLAUDE_CODE_USE_BEDROCK');
    if (isTruthy(input.env.CLAUDE_CODE_USE_VERTEX)) return result('CLAUDE_CODE_USE_VERTEX');
  } else if (typeof input.codexConfig?.model_provider === 'string') {
    return result('llm.providers.codex.config.model_provider');
  }
  const file = credentialsFile(provider, input.env, input.home);
  return result(input.exists(file) ? file : null);
}

/**
 * What was looked for and not found, for a message: e.g. `no ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN or
 * CLAUDE_CODE_OAUTH_TOKEN; no /home/dev/.claude/.credentials.json`.
 */
export function missingCredentials(provider: CliProviderName, env: LoginCheckInput['env'], home: string): string {
  const names = KEY_VARIABLES[provider];
  const variables = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names.join('');
  return `no ${variables}; no ${credentialsFile(provider, env, home)}`;
}
