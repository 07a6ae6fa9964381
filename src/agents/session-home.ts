/**
 * @module Each agent session's own HOME (`<session-dir>/home`): the CLI keeps its state there (settings, history, the
 * conversation a retry resumes), never in the operator's `~/.claude` or `~/.codex`, which stay hidden from sessions.
 * Only the login file is copied in. A retry resumes the CLI conversation only when the previous session's home on
 * this machine still holds it; otherwise it starts fresh (the caller summarises the previous attempt instead).
 */
import { chmod, copyFile, cp, mkdir, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { CliProvider } from './agent-cli.js';

/** The login file each CLI writes, relative to its state directory. */
const LOGIN_FILE: Record<CliProvider, string> = { claude: '.credentials.json', codex: 'auth.json' };
/** Where each CLI keeps its conversations, relative to its state directory. */
const CONVERSATIONS: Record<CliProvider, string> = { claude: 'projects', codex: 'sessions' };

/** The CLI's state directory under a home, or where the operator's environment moved it. */
export function cliStateDir(
  provider: CliProvider,
  home: string,
  env: Readonly<Record<string, string | undefined>> = {},
) {
  const moved = provider === 'claude' ? env.CLAUDE_CONFIG_DIR : env.CODEX_HOME;
  if (moved && path.isAbsolute(moved)) return moved;
  return path.join(home, provider === 'claude' ? '.claude' : '.codex');
}

export interface SessionHome {
  home: string;
  /** Laid over the session's environment: HOME (and CODEX_HOME) pointing into the session directory. */
  env: Record<string, string>;
  /** True when the previous session's conversation was found and copied in, so `resume` can work. */
  canResume: boolean;
}

export interface PrepareSessionHomeOptions {
  sessionDir: string;
  provider: CliProvider;
  /** The operator's home and environment: where the CLI's login is read from. */
  operatorHome: string;
  operatorEnv: Readonly<Record<string, string | undefined>>;
  /** A retry: the previous session's directory and the CLI's id of its conversation. */
  previous?: { sessionDir: string; providerSessionId: string };
}

/**
 * Creates the session's home, copies the CLI's login file into it (mode 0600), and, for a retry, the previous
 * session's conversations when the wanted one is among them.
 *
 * ### Example
 * ```ts
 * const home = await prepareSessionHome({ sessionDir, provider: 'claude', operatorHome: os.homedir(), operatorEnv });
 * env = { ...env, ...home.env };
 * ```
 */
export async function prepareSessionHome(options: PrepareSessionHomeOptions): Promise<SessionHome> {
  const { provider } = options;
  const home = path.join(options.sessionDir, 'home');
  const state = cliStateDir(provider, home);
  await mkdir(state, { recursive: true, mode: 0o700 });
  const login = path.join(cliStateDir(provider, options.operatorHome, options.operatorEnv), LOGIN_FILE[provider]);
  if (existsSync(login)) {
    const copy = path.join(state, LOGIN_FILE[provider]);
    await copyFile(login, copy);
    await chmod(copy, 0o600);
  }
  let canResume = false;
  if (options.previous) {
    const previousState = cliStateDir(provider, path.join(options.previous.sessionDir, 'home'));
    const conversations = path.join(previousState, CONVERSATIONS[provider]);
    if (await holdsConversation(conversations, options.previous.providerSessionId)) {
      await cp(conversations, path.join(state, CONVERSATIONS[provider]), { recursive: true });
      canResume = true;
    }
  }
  return { home, env: { HOME: home, ...(provider === 'codex' ? { CODEX_HOME: state } : {}) }, canResume };
}

/** Whether a CLI's conversations directory holds a file named after the conversation id (searched 4 levels deep). */
async function holdsConversation(dir: string, id: string, depth = 4): Promise<boolean> {
  if (depth === 0 || !/^[\w-]{8,}$/.test(id)) return false;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const entry of entries) {
    if (entry.isFile() && entry.name.includes(id)) return true;
  }
  for (const entry of entries) {
    if (entry.isDirectory() && (await holdsConversation(path.join(dir, entry.name), id, depth - 1))) return true;
  }
  return false;
}
