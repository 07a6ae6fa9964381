/**
 * @module Where the data dir is: `--data-dir`, else AUTODEV_DATA_DIR, else `.autodev`, resolved against the working
 * directory. A module of its own (no store, no settings) so a command can check its input before it loads its code.
 */
import path from 'node:path';

export const DEFAULT_DATA_DIR = '.autodev';

export function resolveDataDir(
  globals: { dataDir?: string | undefined },
  deps: { cwd: string; env: Readonly<Record<string, string | undefined>> },
): string {
  return path.resolve(deps.cwd, globals.dataDir ?? (deps.env.AUTODEV_DATA_DIR || DEFAULT_DATA_DIR));
}
