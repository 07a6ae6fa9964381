/**
 * @module Auto-Dev's version, read once from its package.json (the one `--version` and `GET /health` report).
 */
import fs from 'node:fs';
import path from 'node:path';
import { findPackageRoot } from '../config/package-root.js';

let cached: string | undefined;

export function packageVersion(): string {
  cached ??= (JSON.parse(fs.readFileSync(path.join(findPackageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
  return cached;
}
