/**
 * @module The process edge shared by the three executables: real argv, env, streams, clock and signals in, exit code
 * out. This folder is the only place that calls `process.exit`.
 */
import { runCli } from '../run.js';

/** Exit code after a second Ctrl+C during a graceful shutdown. */
const FORCED_EXIT_CODE = 130;

export async function startCli(commandPrefix: readonly string[]): Promise<never> {
  const code = await runCli([...commandPrefix, ...process.argv.slice(2)], {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
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
