/**
 * @module `autodev demo`'s input, checked before the command's code loads (the whole agent runtime): a bad
 * `--replay-delay` or a `--data-dir` that is not a directory fails at once, with one line, and writes nothing.
 */
import fs from 'node:fs';
import { parseWholeNumberText } from '../../domain/input-policy.js';
import { AutodevError } from '../../errors.js';
import { resolveDataDir } from '../data-dir.js';
import type { CliDeps, GlobalOptions } from '../context.js';

export interface DemoArgs {
  globals: GlobalOptions;
  replayDelay?: string | undefined;
}

/** The checked input: the stand-in model's pause before each answer, and the data dir (absolute). */
export interface DemoInput {
  delayMs: number;
  dataDir: string;
}

/** Pause before each of the stand-in model's answers by default (the CLI's own work already paces the story). */
export const DEFAULT_REPLAY_DELAY_MS = 0;
const MAX_REPLAY_DELAY_MS = 5_000;

export function checkDemoInput(args: DemoArgs, deps: Pick<CliDeps, 'cwd' | 'env'>): DemoInput {
  const delayMs =
    args.replayDelay === undefined
      ? DEFAULT_REPLAY_DELAY_MS
      : parseWholeNumberText('--replay-delay (milliseconds)', args.replayDelay, 0, MAX_REPLAY_DELAY_MS);
  const dataDir = resolveDataDir(args.globals, deps);
  checkDataDir(dataDir);
  return { delayMs, dataDir };
}

/** The data dir must be a directory, or not exist yet (it is created). */
function checkDataDir(dataDir: string): void {
  let info: fs.Stats | undefined;
  try {
    info = fs.statSync(dataDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new AutodevError('VALIDATION_FAILED', `--data-dir ${dataDir} cannot be used: ${(error as Error).message}`);
  }
  if (!info.isDirectory()) {
    throw new AutodevError('VALIDATION_FAILED', `--data-dir ${dataDir} is not a directory`);
  }
}
