/**
 * @module The process edge shared by the three executables: real argv, env, streams, clock and signals in, exit code
 * out. This folder is the only place that calls `process.exit`.
 */
import { runCli } from '../run.js';

/** Exit code after a second Ctrl+C during a graceful shutdown. */
const FORCED_EXIT_CODE = 130;

export async function startCli(commandPrefix: readonly string[]): Promise<never> {
  exitQuietlyOnClosedPipe(process.stdout);
  exitQuietlyOnClosedPipe(process.stderr);
  const code = await runCli([...commandPrefix, ...process.argv.slice(2)], {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    now: Date.now,
    listenForShutdown,
  });
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}

let controller: AbortController | undefined;

/** The first SIGINT/SIGTERM asks the command to stop; a second one ends the process at once. */
function listenForShutdown(): AbortSignal {
  if (!controller) {
    const ours = new AbortController();
    const onSignal = () => {
      if (ours.signal.aborted) process.exit(FORCED_EXIT_CODE);
      ours.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    controller = ours;
  }
  return controller.signal;
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/**
 * `autodev ... | head`: once the reader has gone, a write fails with EPIPE, which Node reports as an unhandled
 * 'error' event with a stack trace. Nobody is left to read anything, so end quietly, as a SIGPIPE would.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
