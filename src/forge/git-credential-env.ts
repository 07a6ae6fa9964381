/**
 * @module How a forge token reaches git without being written anywhere: an environment-only credential helper.
 * The token travels in one environment variable of the git process; a helper given through `GIT_CONFIG_*`
 * (git's environment config, never a file) prints it when git asks. Remote URLs stay token-free, so nothing git
 * logs, prints or stores in `.git/config` holds it. Hooks and fsmonitor are switched off for that git process (a
 * hook in the clone would otherwise run with the token in its environment).
 */

/** The variable the helper reads; set only in the environment of the git process that talks to the forge. */
const TOKEN_VARIABLE = 'AUTODEV_FORGE_GIT_TOKEN';
const USER_VARIABLE = 'AUTODEV_FORGE_GIT_USER';

/**
 * The helper script: answers `get` with the user and token from the environment, ignores `store`/`erase` (so no
 * other helper saves it). A shell function as git documents for `credential.helper = !...`.
 */
const HELPER = `!f() { test "$1" = get || exit 0; printf 'username=%s\\npassword=%s\\n' "$${USER_VARIABLE}" "$${TOKEN_VARIABLE}"; }; f`;

/** The user name each forge expects beside a token over git HTTP. */
export const GIT_TOKEN_USER = { gitlab: 'oauth2', github: 'x-access-token' } as const;

/**
 * Environment additions for one git command against `remoteUrl` authenticating with `token`: any configured helper
 * is reset (empty value) and ours is the only one for that URL. `username` is what the forge expects beside a token
 * (`GIT_TOKEN_USER`).
 *
 * ### Example
 * ```ts
 * await git(clone, ['push', remoteUrl, `HEAD:refs/heads/${branch}`], {
 *   env: { ...process.env, ...gitCredentialEnv(remoteUrl, token, 'oauth2') },
 * });
 * ```
 */
export function gitCredentialEnv(remoteUrl: string, token: string, username: string): NodeJS.ProcessEnv {
  const origin = new URL(remoteUrl).origin;
  return {
    GIT_CONFIG_COUNT: '5',
    GIT_CONFIG_KEY_0: 'credential.helper',
    GIT_CONFIG_VALUE_0: '',
    GIT_CONFIG_KEY_1: `credential.${origin}.helper`,
    GIT_CONFIG_VALUE_1: HELPER,
    GIT_CONFIG_KEY_2: 'credential.interactive',
    GIT_CONFIG_VALUE_2: 'false',
    // The clone's own config cannot run anything while the token is in the environment: no hooks, no fsmonitor.
    GIT_CONFIG_KEY_3: 'core.hooksPath',
    GIT_CONFIG_VALUE_3: '/dev/null',
    GIT_CONFIG_KEY_4: 'core.fsmonitor',
    GIT_CONFIG_VALUE_4: 'false',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    [TOKEN_VARIABLE]: token,
    [USER_VARIABLE]: username,
  };
}

/** Refuses a remote URL that carries credentials itself (they would be logged and stored in `.git/config`). */
export function hasUrlCredentials(remoteUrl: string): boolean {
  try {
    const url = new URL(remoteUrl);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}
