/**
 * @module `autodev demo [--data-dir DIR] [--replay-delay MS]`: the whole pipeline on a generated sample repository
 * with recorded agent sessions played by a local stand-in model to the real Claude Code CLI (see `src/demo/`). Checks its input before writing anything, opens and migrates the
 * database like every command (SQLite in the data dir, or DATABASE_URL), shows a spinner for the current step on a
 * terminal and plain lines otherwise, and exits 0 when the story is merged and the tests pass on the default branch,
 * 130 after Ctrl-C (running tasks released; run it again to resume), 1 when the story stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import ora, { type Ora } from 'ora';
import { queueSettingsFrom } from '../../config/load-settings.js';
import { runDemo } from '../../demo/run-demo.js';
import { isLogLevel } from '../../log-levels.js';
import { createLogger } from '../../log.js';
import { TaskQueue } from '../../queue/task-queue.js';
import { migrateToLatest } from '../../store/migrate.js';
import { CliError } from '../cli-error.js';
import {
  cliSecretMasker,
  DEFAULT_DATA_DIR,
  loadCliSettings,
  openCliDatabase,
  type CliDeps,
  type GlobalOptions,
} from '../context.js';
import { writeLine } from '../format.js';
import type { DemoArgs, DemoInput } from './demo-input.js';

const DEMO_TIMEOUT_MS = 10 * 60_000;
const STOPPED_EXIT_CODE = 130;

/** Runs the demo on input `checkDemoInput` checked (program.ts checks it before this module loads). */
export async function run(args: DemoArgs, { delayMs, dataDir }: DemoInput, deps: CliDeps): Promise<number> {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const loaded = loadCliSettings(args.globals, deps);
  const { settings } = loaded;
  const level =
    args.globals.logLevel ?? (deps.env.LOG_LEVEL && isLogLevel(deps.env.LOG_LEVEL) ? deps.env.LOG_LEVEL : 'warn');
  const logger = createLogger({ level });
  const shutdown = deps.listenForShutdown();

  const spinner = makeSpinner(deps);
  const line = (text: string) => {
    if (spinner?.isSpinning) spinner.clear();
    writeLine(deps.stdout, text);
    if (spinner?.isSpinning) spinner.render();
  };
  const status = (text: string | undefined) => {
    if (!spinner) return;
    if (text === undefined) spinner.stop();
    else if (spinner.isSpinning) spinner.text = text;
    else spinner.start(text);
  };

  const handle = await openCliDatabase(dataDir, deps, cliSecretMasker(dataDir, deps.env, settings));
  let queue: TaskQueue | undefined;
  try {
    await migrateToLatest(handle);
    queue = new TaskQueue(handle, queueSettingsFrom(settings), deps.now);
    line('Auto-Dev demo: one story through every stage on a generated sample repository.');
    line(
      'Every agent session runs the real Claude Code CLI in the sandbox, but its model is a LOCAL STAND-IN playing ' +
        'RECORDED sessions (examples/recordings/): no model is called and nothing leaves this machine.',
    );
    line(`data dir: ${dataDir}`);
    line(`database: ${handle.location}`);
    const outcome = await runDemo({
      queue,
      settings,
      dataDir,
      configDir: args.globals.config ? path.dirname(path.resolve(deps.cwd, args.globals.config)) : undefined,
      env: deps.env,
      logger,
      line,
      status,
      signal: shutdown,
      delayMs,
      timeoutMs: DEMO_TIMEOUT_MS,
      approveCommand: (id) => `${autodevPrefix(args.globals, deps)} approvals approve ${id}`,
    });
    if (outcome.kind === 'stopped') {
      line(
        `stopped: running tasks went back to the queue; run "autodev demo" again with the same data dir to resume ` +
          `story #${outcome.start.workflow.id}`,
      );
      return STOPPED_EXIT_CODE;
    }
    if (outcome.kind === 'failed') {
      throw new CliError(`the demo story #${outcome.start.workflow.id} stopped: ${outcome.reason}`, 1);
    }
    if (!outcome.testsPassed) {
      throw new CliError(`the tests on ${outcome.start.repo.default_branch} of the sample repository failed`, 1);
    }
    line('');
    line(
      `done: story #${outcome.start.workflow.id} is merged into ${outcome.start.repo.default_branch} of ` +
        `${outcome.start.repo.location}. Try "autodev stories show ${outcome.start.workflow.id}" or "autodev up" for the dashboard.`,
    );
    return 0;
  } finally {
    spinner?.stop();
    await queue?.close();
    await handle.close();
  }
}

/** `autodev`, with `--data-dir` as the user gave it when it is not the default. */
function autodevPrefix(globals: GlobalOptions, deps: CliDeps): string {
  if (
    globals.dataDir === undefined ||
    path.resolve(deps.cwd, globals.dataDir) === path.resolve(deps.cwd, DEFAULT_DATA_DIR)
  ) {
    return 'autodev';
  }
  const dir = globals.dataDir;
  return `autodev --data-dir ${/^[\w./-]+$/.test(dir) ? dir : `'${dir.replaceAll("'", "'\\''")}'`}`;
}

/** A spinner for the current step, only when stdout is a terminal. */
function makeSpinner(deps: CliDeps): Ora | undefined {
  const stream = deps.stdout as Partial<NodeJS.WriteStream>;
  // A terminal that reports no width (some pseudo-terminals) would make the spinner's redraw loop forever.
  if (stream !== process.stdout || !process.stdout.isTTY || !(process.stdout.columns > 0)) return undefined;
  return ora({ stream: process.stdout, discardStdin: false });
}
