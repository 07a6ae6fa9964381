/**
 * @module Where Auto-Dev is installed: the directory holding its package.json, found by walking up from this file,
 * so it works from `src/` (tests), `dist/src/` (the module build) and `dist/cli/` (the CLI bundle) alike. Shipped files
 * are found from here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function findPackageRoot(from: string = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}; is Auto-Dev installed correctly?`);
  }
}

/** The built CLI (the bundle of `rolldown.config.ts`); every session's MCP server runs `node <it> mcp`. */
export function builtCliEntry(): string {
  return path.join(findPackageRoot(), 'dist', 'cli', 'autodev.js');
}
