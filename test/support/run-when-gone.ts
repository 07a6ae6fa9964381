/**
 * @module Commands that run once this process is gone, however it ends: a normal exit, an uncaught error, SIGTERM
 * from `run-p` when typecheck fails, or SIGKILL. The test run's global setup starts servers (a PostgreSQL cluster,
 * moto) that the kernel does not stop with it; their teardown runs only on a normal end, so each also gets one of
 * these. A detached `sh` in a session of its own waits for end of file on a pipe whose write end only this process
 * holds (close-on-exec, so no child inherits it): the kernel closes it when this process dies, and the shell then runs
 * the commands in order. No polling.
 *
 * ### Example
 * ```ts
 * const guard = runWhenGone([['kill', '-TERM', String(server.pid)]]);
 * // ... on a normal stop:
 * guard.cancel();
 * ```
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';

export interface WhenGoneGuard {
  /** The guard's shell. */
  pid: number;
  /** The normal stop happened: the commands will not run. */
  cancel(): void;
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** The guard's shell script: wait for end of file on stdin, then run `commands` in order, each word quoted. Pure. */
export function whenGoneScript(commands: readonly (readonly string[])[]): string {
  return ['cat > /dev/null', ...commands.map((command) => command.map(quote).join(' '))].join('; ');
}

export function runWhenGone(commands: readonly (readonly string[])[]): WhenGoneGuard {
  const guard = spawn('sh', ['-c', whenGoneScript(commands)], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  guard.on('error', () => undefined);
  const pipe = guard.stdin as Socket;
  pipe.on('error', () => undefined);
  // Neither the guard nor its pipe keeps this process's event loop alive.
  guard.unref();
  pipe.unref();
  return {
    pid: guard.pid!,
    cancel() {
      if (guard.exitCode === null) guard.kill('SIGKILL');
    },
  };
}
