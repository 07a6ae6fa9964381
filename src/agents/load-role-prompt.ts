/**
 * @module Finds and reads a role's prompt: the user's copy (`<config-dir>/agents/<role>.md`, then
 * `<data-dir>/agents/<role>.md`) wins over the shipped default in the package's `config/agents/<role>.md`.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRole, type Role } from '../domain/roles.js';
import { AutodevError } from '../errors.js';

export interface RolePrompt {
  role: Role;
  text: string;
  /** The file the text was read from. */
  sourcePath: string;
  /** `user` when a user's copy overrode the shipped default. */
  origin: 'user' | 'shipped';
}

export interface LoadRolePromptOptions {
  dataDir: string;
  /** The directory of the user's settings file (`--config FILE`); its `agents/` is checked before the data dir's. */
  configDir?: string;
}

/**
 * The nearest directory at or above `fromDir` holding a package.json. Works from `src/agents/` (vitest, tsx) and
 * from `dist/src/agents/` (built) alike, since both sit below the package root.
 */
export function findPackageRoot(fromDir: string): string {
  let dir = path.resolve(fromDir);
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new AutodevError('INTERNAL', `no package.json found above ${fromDir}`);
    dir = parent;
  }
}

let shippedDir: string | undefined;

/** The directory of the shipped default prompts, `<package-root>/config/agents`. */
export function shippedAgentsDir(): string {
  shippedDir ??= path.join(findPackageRoot(path.dirname(fileURLToPath(import.meta.url))), 'config', 'agents');
  return shippedDir;
}

/** Reads a user's prompt file; `undefined` when it does not exist. Any other problem is the user's to fix. */
async function readUserCopy(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AutodevError('CONFIG_INVALID', `cannot read agent prompt ${file}: ${(error as Error).message}`);
  }
  if (text.trim() === '') {
    throw new AutodevError('CONFIG_INVALID', `agent prompt ${file} is empty; delete it to use the shipped default`);
  }
  return text;
}

/**
 * The prompt for a role, the user's copy if there is one.
 *
 * ### Examples
 * ```ts
 * const { text, sourcePath, origin } = await loadRolePrompt('builder', { dataDir: '.autodev' });
 * // origin === 'user' when .autodev/agents/builder.md exists, else 'shipped'
 * ```
 */
export async function loadRolePrompt(role: Role, options: LoadRolePromptOptions): Promise<RolePrompt> {
  if (!isRole(role)) throw new AutodevError('VALIDATION_FAILED', `unknown role "${String(role)}"`);
  const fileName = `${role}.md`;
  const userDirs = [options.configDir, options.dataDir].filter((dir): dir is string => Boolean(dir));
  for (const dir of userDirs) {
    const file = path.resolve(dir, 'agents', fileName);
    const text = await readUserCopy(file);
    if (text !== undefined) return { role, text, sourcePath: file, origin: 'user' };
  }
  const shipped = path.join(shippedAgentsDir(), fileName);
  try {
    return { role, text: await readFile(shipped, 'utf8'), sourcePath: shipped, origin: 'shipped' };
  } catch (error) {
    throw new AutodevError(
      'INTERNAL',
      `the shipped prompt for ${role} is missing at ${shipped} (${(error as Error).message}); reinstall Auto-Dev`,
    );
  }
}
