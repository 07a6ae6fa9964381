/**
 * @module Runs one child process (no shell) with a timeout, an abort signal and bounded output, and kills its whole
 * process group when stopped. Used directly for unsandboxed helpers and by `sandbox.ts` to run bubblewrap.
 */
import { spawn as nodeSpawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { AutodevError } from '../errors.js';

/** How much of each stream a result keeps (the last bytes: errors come at the end). */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
/** Between SIGTERM and SIGKILL when a command is stopped. */
export const DEFAULT_KILL_GRACE_MS = 2_000;

export interface CommandResult {
  /** Exit code, or null when a signal ended the process. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last `maxOutputBytes` of stdout / stderr. */
  stdout: string;
  stderr: string;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
  /** Stopped because `timeoutMs` passed. */
  timedOut: boolean;
  /** Stopped because the abort signal fired. */
  aborted: boolean;
}

export interface RunCommandOptions {
  command: string;
  args?: readonly string[];
  cwd: string;
  /** The complete environment of the child (default: this process's). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Written to stdin, which is then closed; stdin is empty otherwise. */
  input?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
  maxOutputBytes?: number;
  killGraceMs?: number;
}

export interface RunCommandDeps {
  spawn?: typeof nodeSpawn;
  /** Monotonic milliseconds, for `durationMs`. */
  now?: () => number;
}

/** Keeps the last `limit` bytes written to it. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0] as Buffer;
      const excess = this.size - this.limit;
      this.truncated = true;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
      }
    }
  }

  toString(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/**
 * Runs a command to completion and resolves with its result; never rejects for a non-zero exit, a timeout or an
 * abort (see `timedOut` / `aborted`). Rejects with COMMAND_NOT_STARTED when the process cannot be started.
 * The child leads its own process group; stopping it sends SIGTERM to the group, then SIGKILL after `killGraceMs`.
 *
 * ### Example
 * ```ts
 * const result = await runCommand({ command: 'npm', args: ['test'], cwd: worktree.path, timeoutMs: 600_000 });
 * if (result.timedOut) ...
 * ```
 */
export function runCommand(options: RunCommandOptions, deps: RunCommandDeps = {}): Promise<CommandResult> {
  const spawn = deps.spawn ?? nodeSpawn;
  const now = deps.now ?? (() => performance.now());
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const startedAt = now();

  if (options.signal?.aborted) {
    return Promise.resolve({
      exitCode: null,
      signal: null,
      stdout: '',
      stderr: '',
      stdoutTruncated: false,
      stderrTruncated: false,
      durationMs: 0,
      timedOut: false,
      aborted: true,
    });
  }

  return new Promise((resolve, reject) => {
    const stdout = new OutputTail(maxOutputBytes);
    const stderr = new OutputTail(maxOutputBytes);
    let timedOut = false;
    let aborted = false;
    let settled = false;
    let timeoutTimer: NodeJS.Timeout | undefined;

    const child = spawn(options.command, [...(options.args ?? [])], {
      cwd: options.cwd,
      env: (options.env ?? process.env) as NodeJS.ProcessEnv,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });

    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    const stop = () => {
      killGroup('SIGTERM');
      // Deliberately never cleared: members of the group that ignore SIGTERM die even after the leader has exited.
      setTimeout(() => killGroup('SIGKILL'), killGraceMs).unref();
    };
    const onAbort = () => {
      if (settled) return;
      aborted = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.timeoutMs !== undefined) {
      timeoutTimer = setTimeout(() => {
        if (settled) return;
        timedOut = true;
        stop();
      }, options.timeoutMs);
    }

    const forward = (tail: OutputTail, listener: ((text: string) => void) | undefined) => {
      const decoder = new StringDecoder('utf8');
      return (chunk: Buffer) => {
        tail.push(chunk);
        if (listener) {
          const text = decoder.write(chunk);
          if (text) listener(text);
        }
      };
    };
    child.stdout?.on('data', forward(stdout, options.onStdout));
    child.stderr?.on('data', forward(stderr, options.onStderr));
    child.stdin?.on('error', () => {
      // The child may exit without reading its input.
    });
    child.stdin?.end(options.input ?? '');

    const cleanUp = () => {
      settled = true;
      clearTimeout(timeoutTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };

    child.on('error', (error: NodeJS.ErrnoException) => {
      if (settled || child.pid !== undefined) return;
      cleanUp();
      reject(
        new AutodevError(
          'COMMAND_NOT_STARTED',
          `cannot start ${options.command} in ${options.cwd}: ${error.code ?? error.message} ` +
            '(is it installed and on PATH, and does the directory exist?)',
          { command: options.command, cwd: options.cwd },
        ),
      );
    });
    child.on('exit', () => {
      // A grandchild that escaped the process group may hold the pipes open; do not wait for it forever.
      const drain = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, 1_000);
      drain.unref();
    });
    child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      cleanUp();
      resolve({
        exitCode,
        signal,
        stdout: stdout.toString(),
        stderr: stderr.toString(),
        stdoutTruncated: stdout.truncated,
        stderrTruncated: stderr.truncated,
        durationMs: Math.max(0, now() - startedAt),
        timedOut,
        aborted,
      });
    });
  });
}
