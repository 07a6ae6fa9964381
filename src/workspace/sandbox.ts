/**
 * @module Runs agent commands in a bubblewrap sandbox (`sandbox.mode: bubblewrap`): the whole filesystem read-only, the
 * task's worktree writable, secrets hidden, environment scrubbed, no network unless asked, all capabilities dropped.
 * `sandbox.mode: none` runs the command directly (environment still scrubbed) and warns loudly once per process.
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { AutodevError } from '../errors.js';
import type { Logger } from '../log.js';
import { runCommand, type CommandResult, type RunCommandDeps, type RunCommandOptions } from './run-command.js';

/** `sandbox.mode` in settings.yaml (validated by config/settings-schema.ts, SANDBOX_MODES). */
export type SandboxMode = 'bubblewrap' | 'none';

/** Environment variables every sandboxed command keeps; everything else must be allowed by name. */
export const DEFAULT_ENV_ALLOWLIST: readonly string[] = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TERM', 'TZ', 'USER'];

/** Credential stores under the user's home that no agent needs to see (hidden when they exist). */
export const DEFAULT_HIDDEN_HOME_PATHS: readonly string[] = [
  '.ssh',
  '.gnupg',
  '.aws',
  '.azure',
  '.config/gcloud',
  '.kube',
  '.docker',
  '.config/gh',
  '.config/glab-cli',
  '.netrc',
  '.git-credentials',
  '.npmrc',
  '.pypirc',
  // The agent CLIs' own state: logins, settings and hooks. Sessions get a home of their own (agents/session-home.ts).
  '.claude',
  '.claude.json',
  '.config/claude',
  '.codex',
];

/**
 * Keeps only the allowlisted variables: the defaults (PATH, HOME, LANG, LC_ALL, TERM, TZ, USER) plus the names given.
 * Tokens, AWS_*, DATABASE_URL, ANTHROPIC_API_KEY and everything else are dropped unless named. Pure.
 *
 * ### Example
 * ```ts
 * scrubEnvironment(process.env, ['ANTHROPIC_API_KEY']) // { PATH, HOME, ..., ANTHROPIC_API_KEY }
 * ```
 */
export function scrubEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  allowlist: readonly string[] = [],
): Record<string, string> {
  const allowed = new Set([...DEFAULT_ENV_ALLOWLIST, ...allowlist]);
  const scrubbed: Record<string, string> = {};
  for (const name of [...allowed].sort()) {
    const value = env[name];
    if (value !== undefined) scrubbed[name] = value;
  }
  return scrubbed;
}

/**
 * Secrets of the machine itself. Root-owned files stay readable inside the sandbox when Auto-Dev runs as root (the
 * sandboxed uid maps to root outside), so these are hidden too (when they exist).
 */
export const DEFAULT_HIDDEN_SYSTEM_PATHS: readonly string[] = ['/etc/shadow', '/etc/gshadow', '/etc/ssl/private'];

/** Variables that move an agent CLI's state (and login) out of the home directory. */
const CLI_STATE_VARIABLES = ['CLAUDE_CONFIG_DIR', 'CODEX_HOME'] as const;

/**
 * The default paths to hide: the data dir (database, admin token, secrets), credential stores and the agent CLIs'
 * state in `home`, and the CLI state directories `env` moves elsewhere (`CLAUDE_CONFIG_DIR`, `CODEX_HOME`).
 */
export function defaultHiddenPaths(options: {
  home: string;
  dataDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
  extra?: readonly string[];
}): string[] {
  const moved = CLI_STATE_VARIABLES.map((name) => options.env?.[name]).filter(
    (value): value is string => typeof value === 'string' && isAbsolute(value),
  );
  return [
    ...(options.dataDir ? [resolve(options.dataDir)] : []),
    ...DEFAULT_HIDDEN_HOME_PATHS.map((relative) => join(options.home, relative)),
    ...DEFAULT_HIDDEN_SYSTEM_PATHS,
    ...moved,
    ...(options.extra ?? []),
  ];
}

export interface HiddenPath {
  path: string;
  /** A directory is covered by an empty read-only tmpfs; a file by `/dev/null` (mounted nodev, so unreadable). */
  kind: 'directory' | 'file';
}

/** Everything `buildSandboxArgs` needs; paths absolute and already resolved (see `runSandboxed`). */
export interface SandboxSpec {
  command: string;
  args: readonly string[];
  cwd: string;
  writablePaths: readonly string[];
  /** Shown read-only even when under a hidden path (e.g. a reviewer's checkout inside the data dir). */
  readOnlyPaths?: readonly string[];
  hiddenPaths: readonly HiddenPath[];
  /** The complete environment inside the sandbox (already scrubbed). */
  env: Readonly<Record<string, string>>;
  network: boolean;
  /**
   * Keep the environment bubblewrap itself was started with instead of `--clearenv` + `env`: for a wrapper whose
   * caller (an agent SDK spawning the CLI) already passes an environment scrubbed by `scrubEnvironment`.
   */
  inheritEnv?: boolean;
  /**
   * Run as this uid (and gid) inside a new user namespace. Set when Auto-Dev runs as root (`sandboxUid()`): the
   * command then is not root inside (Claude Code refuses to skip permissions as root), while files it writes are
   * still owned by Auto-Dev's user outside.
   */
  uid?: number;
}

/** The uid sandboxed commands run as: an unprivileged one when Auto-Dev itself is root, else unchanged (undefined). */
export function sandboxUid(): number | undefined {
  return process.getuid?.() === 0 ? SANDBOX_UID : undefined;
}

/** The unprivileged uid and gid inside the sandbox when Auto-Dev runs as root. */
export const SANDBOX_UID = 1000;

type Mount =
  | { op: 'tmpfs'; path: string }
  | { op: 'hide-dir'; path: string }
  | { op: 'hide-file'; path: string }
  | { op: 'ro-bind'; path: string }
  | { op: 'bind'; path: string };

const MOUNT_ORDER: Record<Mount['op'], number> = { tmpfs: 0, 'hide-dir': 1, 'hide-file': 1, 'ro-bind': 2, bind: 3 };

function depth(path: string): number {
  return path === sep ? 0 : path.split(sep).length - 1;
}

function checkPath(path: string, what: string): string {
  if (!isAbsolute(path)) throw new AutodevError('VALIDATION_FAILED', `sandbox ${what} must be absolute: ${path}`);
  const normal = resolve(path);
  if (normal === sep) throw new AutodevError('VALIDATION_FAILED', `sandbox ${what} cannot be the root directory`);
  return normal;
}

/**
 * The bubblewrap arguments for a spec, ending in `-- command ...args`. Pure.
 *
 * Mounts apply in order and a later mount covers an earlier one, so they are sorted by depth (shallow first): the
 * deepest rule for a path wins whatever order the caller listed them in. So a worktree under /tmp is bound after the
 * private /tmp, and a worktree inside the hidden data dir is bound after the data dir is hidden. A path both hidden
 * and writable (or read-only) is a contradiction and is refused.
 *
 * ### Example
 * ```ts
 * buildSandboxArgs({ command: 'claude', args: ['-p', 'hi'], cwd: wt, writablePaths: [wt], hiddenPaths: [],
 *   env: { PATH: '/usr/bin' }, network: true })
 * // ['--unshare-all', '--share-net', '--cap-drop', 'ALL', ..., '--bind', wt, wt, ..., '--', 'claude', '-p', 'hi']
 * ```
 */
export function buildSandboxArgs(spec: SandboxSpec): string[] {
  const mounts: Mount[] = [{ op: 'tmpfs', path: '/tmp' }];
  const claimed = new Map<string, string>();
  const claim = (path: string, role: string) => {
    const previous = claimed.get(path);
    if (previous !== undefined && previous !== role) {
      throw new AutodevError('VALIDATION_FAILED', `sandbox path ${path} cannot be both ${previous} and ${role}`);
    }
    claimed.set(path, role);
  };
  for (const hidden of spec.hiddenPaths) {
    const path = checkPath(hidden.path, 'hidden path');
    claim(path, 'hidden');
    mounts.push({ op: hidden.kind === 'directory' ? 'hide-dir' : 'hide-file', path });
  }
  for (const raw of spec.readOnlyPaths ?? []) {
    const path = checkPath(raw, 'read-only path');
    claim(path, 'read-only');
    mounts.push({ op: 'ro-bind', path });
  }
  for (const raw of spec.writablePaths) {
    const path = checkPath(raw, 'writable path');
    claim(path, 'writable');
    mounts.push({ op: 'bind', path });
  }
  const unique = mounts.filter(
    (mount, index) => mounts.findIndex((other) => other.path === mount.path && other.op === mount.op) === index,
  );
  unique.sort((a, b) => depth(a.path) - depth(b.path) || MOUNT_ORDER[a.op] - MOUNT_ORDER[b.op]);

  const args = ['--unshare-all'];
  if (spec.network) args.push('--share-net');
  if (spec.uid !== undefined) args.push('--unshare-user', '--uid', String(spec.uid), '--gid', String(spec.uid));
  // As root, bubblewrap otherwise keeps every capability inside, enough to unmount the tmpfs hiding a secret.
  args.push('--cap-drop', 'ALL', '--die-with-parent', '--new-session');
  args.push('--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc');
  for (const mount of unique) {
    if (mount.op === 'tmpfs' || mount.op === 'hide-dir') args.push('--tmpfs', mount.path);
    else if (mount.op === 'hide-file') args.push('--ro-bind', '/dev/null', mount.path);
    else if (mount.op === 'ro-bind') args.push('--ro-bind', mount.path, mount.path);
    else args.push('--bind', mount.path, mount.path);
  }
  // Hidden directories become empty and read-only (after the binds nested in them exist; not recursive).
  for (const mount of unique) if (mount.op === 'hide-dir') args.push('--remount-ro', mount.path);
  if (!spec.inheritEnv) {
    args.push('--clearenv');
    for (const [name, value] of Object.entries(spec.env).sort(([a], [b]) => a.localeCompare(b))) {
      args.push('--setenv', name, value);
    }
  }
  args.push('--chdir', checkPath(spec.cwd, 'working directory'), '--', spec.command, ...spec.args);
  return args;
}

export interface SandboxRunOptions extends Omit<RunCommandOptions, 'env'> {
  mode: SandboxMode;
  /** Writable inside the sandbox: the task's worktree. Everything else is read-only. */
  writablePaths: readonly string[];
  readOnlyPaths?: readonly string[];
  /** Hidden inside the sandbox when they exist: the data dir, secrets, ~/.ssh (see `defaultHiddenPaths`). */
  hiddenPaths?: readonly string[];
  /** The environment to scrub (usually `process.env`); only allowlisted names reach the command. */
  env: Readonly<Record<string, string | undefined>>;
  /** Names allowed through besides the defaults, e.g. `['ANTHROPIC_API_KEY']` for the agent that needs it. */
  allowEnv?: readonly string[];
  network: boolean;
  /** The bubblewrap binary (default `bwrap` on PATH). */
  bwrapPath?: string;
  /** Where the `none`-mode warning goes (default stderr). */
  logger?: Logger;
}

export interface SandboxResult extends CommandResult {
  sandboxed: boolean;
}

/** Resolves paths for bubblewrap: symlinks followed, missing paths dropped, files told apart from directories. */
export async function resolveHiddenPaths(paths: readonly string[]): Promise<HiddenPath[]> {
  const resolved: HiddenPath[] = [];
  for (const path of paths) {
    try {
      const real = await realpath(path);
      const info = await stat(real);
      resolved.push({ path: real, kind: info.isDirectory() ? 'directory' : 'file' });
    } catch {
      // Missing: nothing to hide.
    }
  }
  return resolved;
}

async function realPaths(paths: readonly string[], what: string): Promise<string[]> {
  return Promise.all(
    paths.map(async (path) => {
      try {
        return await realpath(path);
      } catch {
        throw new AutodevError('VALIDATION_FAILED', `sandbox ${what} does not exist: ${path}`);
      }
    }),
  );
}

export type BubblewrapStatus = { available: true } | { available: false; reason: string; timedOut?: boolean };

const bubblewrapChecks = new Map<string, Promise<BubblewrapStatus>>();
let warnedUnsandboxed = false;

/**
 * Whether bubblewrap works here: runs `true` under the same flags real sandboxes use (so a kernel without user
 * namespaces, or a container that forbids mounting /proc, fails here rather than mid-task). Cached per binary.
 */
export function checkBubblewrap(bwrapPath = 'bwrap', deps: RunCommandDeps = {}): Promise<BubblewrapStatus> {
  let check = bubblewrapChecks.get(bwrapPath);
  if (!check) {
    check = selfCheck(bwrapPath, deps);
    bubblewrapChecks.set(bwrapPath, check);
    // A check that only ran out of time (a machine under load) is not remembered; the next run checks again.
    void check.then((status) => {
      if (!status.available && status.timedOut) bubblewrapChecks.delete(bwrapPath);
    });
  }
  return check;
}

async function selfCheck(bwrapPath: string, deps: RunCommandDeps): Promise<BubblewrapStatus> {
  const args = buildSandboxArgs({
    command: 'true',
    args: [],
    cwd: '/tmp',
    writablePaths: [],
    hiddenPaths: [],
    env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
    network: false,
    uid: sandboxUid(),
  });
  try {
    const env = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
    const result = await runCommand({ command: bwrapPath, args, cwd: '/', env, timeoutMs: 10_000 }, deps);
    if (result.exitCode === 0) return { available: true };
    if (result.timedOut) return { available: false, reason: `${bwrapPath} self-check timed out`, timedOut: true };
    const why = result.stderr.trim() || `exit code ${String(result.exitCode)}`;
    return { available: false, reason: `${bwrapPath} fails its self-check: ${why}` };
  } catch {
    return { available: false, reason: `${bwrapPath} is not installed or not on PATH` };
  }
}

/** Throws SANDBOX_UNAVAILABLE, naming both fixes, unless the mode is `none` or bubblewrap passes its self-check. */
export async function assertSandboxAvailable(mode: SandboxMode, bwrapPath = 'bwrap'): Promise<void> {
  if (mode === 'none') return;
  const status = await checkBubblewrap(bwrapPath);
  if (!status.available) {
    throw new AutodevError(
      'SANDBOX_UNAVAILABLE',
      `the bubblewrap sandbox is unavailable (${status.reason}). Install it (apt-get install bubblewrap) ` +
        'or set sandbox.mode: none in settings.yaml to run agents unsandboxed.',
    );
  }
}

/** Forgets the cached bubblewrap checks and the once-per-process warning (for tests). */
export function resetSandboxState(): void {
  bubblewrapChecks.clear();
  warnedUnsandboxed = false;
}

function warnUnsandboxedOnce(logger: Logger | undefined): void {
  if (warnedUnsandboxed) return;
  warnedUnsandboxed = true;
  const message =
    'sandbox.mode is none: agents run UNSANDBOXED with full access to this machine ' +
    '(files, network, credentials in the home directory). Set sandbox.mode: bubblewrap to confine them.';
  if (logger) logger.warn({ sandbox: 'none' }, message);
  else process.stderr.write(`WARNING: ${message}\n`);
}

/**
 * Runs a command confined by bubblewrap (or directly in mode `none`), with the scrubbed environment.
 * Resolves like `runCommand` (never rejects for exit codes, timeouts or aborts), plus `sandboxed`.
 * Throws SANDBOX_UNAVAILABLE in mode `bubblewrap` when bubblewrap is missing or broken: never silently unsandboxed.
 *
 * ### Example
 * ```ts
 * await runSandboxed({ mode: 'bubblewrap', command: 'claude', args, cwd: wt.path, writablePaths: [wt.path],
 *   hiddenPaths: defaultHiddenPaths({ home, dataDir }), env: process.env, allowEnv: ['ANTHROPIC_API_KEY'],
 *   network: true, timeoutMs: 3_600_000, signal })
 * ```
 */
export async function runSandboxed(options: SandboxRunOptions, deps: RunCommandDeps = {}): Promise<SandboxResult> {
  const env = scrubEnvironment(options.env, options.allowEnv);
  const commandOptions: RunCommandOptions = {
    command: options.command,
    args: options.args ?? [],
    cwd: options.cwd,
    env,
    input: options.input,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    onStdout: options.onStdout,
    onStderr: options.onStderr,
    maxOutputBytes: options.maxOutputBytes,
    killGraceMs: options.killGraceMs,
  };
  if (options.mode === 'none') {
    warnUnsandboxedOnce(options.logger);
    return { ...(await runCommand(commandOptions, deps)), sandboxed: false };
  }
  const bwrap = options.bwrapPath ?? 'bwrap';
  await assertSandboxAvailable(options.mode, bwrap);
  const [cwd] = await realPaths([options.cwd], 'working directory');
  const args = buildSandboxArgs({
    command: options.command,
    args: options.args ?? [],
    cwd: cwd as string,
    writablePaths: await realPaths(options.writablePaths, 'writable path'),
    readOnlyPaths: await realPaths(options.readOnlyPaths ?? [], 'read-only path'),
    hiddenPaths: await resolveHiddenPaths(options.hiddenPaths ?? []),
    env,
    network: options.network,
    uid: sandboxUid(),
  });
  // bubblewrap itself needs only PATH to be found; the command's environment is set inside with --setenv.
  const bwrapEnv = { PATH: options.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  const result = await runCommand({ ...commandOptions, command: bwrap, args, cwd: '/', env: bwrapEnv }, deps);
  return { ...result, sandboxed: true };
}
