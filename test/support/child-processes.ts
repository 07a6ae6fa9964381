/**
 * @module Child processes that cannot outlive their test. Every child a test starts through `spawnInGroup` or
 * `execFileInGroup` leads a process group of its own (its own children, sessions and sandboxes join it), and is
 * remembered: `test/support/process-groups-setup.ts` SIGKILLs the groups still alive after each test (children started
 * in the test) and after each file (children started in `beforeAll`), and when the test process exits. So a test that
 * times out cannot leave a CLI writing into the database the next test reads. No vitest import: the built worker
 * processes load modules next to this one.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

type Scope = 'test' | 'file';

const groups: { scope: Scope; child: ChildProcess }[] = [];
let scope: Scope = 'file';

/** Called by the setup file: children started from now on belong to the running test (`test`) or the file. */
export function setChildScope(next: Scope): void {
  scope = next;
}

/** SIGKILL the whole group led by `child` (its leader may be gone while members live on); false if none was left. */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is empty
  }
}

let killingOnExit = false;

/** SIGKILLs every tracked group when this process exits; once per process, however many files set it up. */
export function killTrackedGroupsOnExit(): void {
  if (killingOnExit) return;
  killingOnExit = true;
  process.once('exit', () => killTrackedGroups());
}

/** SIGKILLs the groups of `which` scope (all when undefined) and forgets them; how many still had members. */
export function killTrackedGroups(which?: Scope): number {
  let killed = 0;
  for (let i = groups.length - 1; i >= 0; i--) {
    const entry = groups[i]!;
    if (which !== undefined && entry.scope !== which) continue;
    if (killGroup(entry.child)) killed++;
    groups.splice(i, 1);
  }
  return killed;
}

/** `spawn` in a process group of its own, killed with its test (see the module comment). */
export function spawnInGroup(file: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(file, args, { ...options, detached: true });
  groups.push({ scope, child });
  return child;
}

export interface ExecOutcome {
  /** The exit code; null when killed by a signal (the timeout included). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecInGroupOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the whole group after this long. */
  timeout: number;
}

/** Runs `file args` to the end in its own process group; on timeout the whole group is killed, not just the leader. */
export function execFileInGroup(
  file: string,
  args: readonly string[],
  options: ExecInGroupOptions,
): Promise<ExecOutcome> {
  const child = spawnInGroup(file, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => killGroup(child), options.timeout);
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
