/**
 * @module One command on one commit of a repository, in a throwaway detached checkout under the sandbox: what the
 * test gate, the lint gate and the deployment share. The checkout's temporary path reads `<checkout>` in the output.
 * The checkout is removed afterwards (it has no branch and no commits of its own); the repository's branches and
 * worktrees are never touched. A process killed mid-command cannot remove its checkout: the scratch directory's name
 * carries the owner's pid, and `sweepOrphanCheckouts` (run when the agents start) removes those whose owner is gone,
 * with their worktree registration.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { git } from '../workspace/git.js';
import { runSandboxed, type SandboxMode } from '../workspace/sandbox.js';

export interface CheckoutCommandOptions {
  repoPath: string;
  /** Branch or commit to check out. */
  ref: string;
  /** Run with `sh -c`. */
  command: string;
  mode: SandboxMode;
  timeoutMs: number;
  /** The environment to scrub (only the sandbox's default allowlist and `allowEnv` reach the command). */
  env: Readonly<Record<string, string | undefined>>;
  allowEnv?: readonly string[];
  /** A deployment needs the network; tests and lint run without it. */
  network: boolean;
  bwrapPath?: string;
  /** Paths hidden inside the sandbox (the data dir, credentials). */
  hiddenPaths?: readonly string[];
  signal?: AbortSignal;
}

export interface CheckoutCommandResult {
  command: string;
  /** The commit the command ran on. */
  commit: string;
  exitCode: number | null;
  timedOut: boolean;
  /** stdout then stderr, with the checkout's temporary path shown as `<checkout>`. */
  output: string;
  durationMs: number;
}

/** How the throwaway checkout's path appears in a command's output (it names nothing once the checkout is gone). */
export const CHECKOUT_PLACEHOLDER = '<checkout>';

/** `output` with every spelling of `checkout` (as given and with symlinks resolved) replaced by `<checkout>`. */
export function hideCheckoutPath(output: string, checkout: string, realCheckout = checkout): string {
  const spellings = [...new Set([checkout, realCheckout])].sort((a, b) => b.length - a.length);
  return spellings.reduce((text, spelling) => text.split(spelling).join(CHECKOUT_PLACEHOLDER), output);
}

/** How much output a gate keeps in its result (the end: errors and summaries come last). */
export const OUTPUT_TAIL_CHARS = 8_000;

export function outputTail(output: string, chars = OUTPUT_TAIL_CHARS): string {
  return output.trim().slice(-chars);
}

const SCRATCH_PREFIX = 'autodev-checkout-';
/** `<prefix><pid>-<random>`: the pid of the process that made it. */
const OWNED_SCRATCH = new RegExp(`^${SCRATCH_PREFIX}(\\d+)-`);

export async function runInCheckout(options: CheckoutCommandOptions): Promise<CheckoutCommandResult> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`));
  const checkout = path.join(scratch, 'checkout');
  try {
    await git(options.repoPath, ['worktree', 'add', '--quiet', '--detach', checkout, options.ref]);
    const commit = (await git(checkout, ['rev-parse', 'HEAD'])).stdout.trim();
    // The checkout's .git file points into the repository's git directory: shown read-only so `git` works inside
    // (even when the repository lives under /tmp, which the sandbox replaces), while refs cannot be changed.
    const gitDir = (
      await git(options.repoPath, ['rev-parse', '--path-format=absolute', '--git-common-dir'])
    ).stdout.trim();
    const result = await runSandboxed({
      mode: options.mode,
      command: 'sh',
      args: ['-c', options.command],
      cwd: checkout,
      writablePaths: [checkout],
      readOnlyPaths: [gitDir],
      hiddenPaths: options.hiddenPaths ?? [],
      env: options.env,
      ...(options.allowEnv ? { allowEnv: options.allowEnv } : {}),
      network: options.network,
      timeoutMs: options.timeoutMs,
      maxOutputBytes: 256 * 1024,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.bwrapPath ? { bwrapPath: options.bwrapPath } : {}),
    });
    const realCheckout = await fs.realpath(checkout).catch(() => checkout);
    return {
      command: options.command,
      commit,
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      output: hideCheckoutPath(`${result.stdout}\n${result.stderr}`, checkout, realCheckout),
      durationMs: result.durationMs,
    };
  } finally {
    await git(options.repoPath, ['worktree', 'remove', '--force', checkout], { okExitCodes: [128] });
    await git(options.repoPath, ['worktree', 'prune'], { okExitCodes: [128] });
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the throwaway checkouts under `tmpDir` whose owning process is gone (killed mid-command), and prunes their
 * repository's worktree list. A live owner's checkouts (this process's, another running Auto-Dev's) are left alone.
 * Returns the directories removed.
 */
export async function sweepOrphanCheckouts(tmpDir = os.tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.readdir(tmpDir)) {
    const owner = OWNED_SCRATCH.exec(name)?.[1];
    if (owner === undefined || processAlive(Number(owner))) continue;
    const scratch = path.join(tmpDir, name);
    // The checkout's `.git` file names the repository's worktree entry: `gitdir: <repo>/.git/worktrees/<name>`.
    const gitFile = await fs.readFile(path.join(scratch, 'checkout', '.git'), 'utf8').catch(() => '');
    const entry = /^gitdir: (.+)$/m.exec(gitFile)?.[1];
    await fs.rm(scratch, { recursive: true, force: true });
    removed.push(scratch);
    if (entry) {
      const commonDir = path.dirname(path.dirname(entry));
      // Run inside the git directory itself: the repository may be gone or moved meanwhile, which is no error here.
      await git(commonDir, ['worktree', 'prune'], { okExitCodes: [128] }).catch(() => undefined);
    }
  }
  return removed;
}
