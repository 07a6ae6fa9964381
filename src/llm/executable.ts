/**
 * @module Finding the agent CLI to run (`llm.providers.<name>.executable`: a path, or a name looked up on the
 * session's PATH) and the time zone it prints local times in. Small process-level helpers the providers share.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { isValidTimeZone, systemTimeZone } from './reset-time.js';

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The absolute path of `executable`, or null when there is no such executable file. A name without a slash is looked
 * up on `pathVariable` (the session's PATH), a relative path is taken from `baseDir`.
 *
 * @example
 * resolveExecutable('claude', '/usr/local/bin:/usr/bin', process.cwd()) // '/usr/local/bin/claude' or null
 */
export function resolveExecutable(
  executable: string,
  pathVariable: string | undefined,
  baseDir: string,
): string | null {
  if (executable.includes('/')) {
    const absolute = path.resolve(baseDir, executable);
    // Scripts the SDKs run through node need only be readable; anything else must be executable.
    if (/\.(?:c|m)?js$/.test(absolute)) {
      try {
        return statSync(absolute).isFile() ? absolute : null;
      } catch {
        return null;
      }
    }
    return isExecutableFile(absolute) ? absolute : null;
  }
  for (const dir of (pathVariable ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, executable);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/** The zone a CLI prints local times in: its TZ variable when valid, else this machine's zone. */
export function cliTimeZone(env: Record<string, string>, configured?: string): string {
  if (configured && isValidTimeZone(configured)) return configured;
  const tz = env.TZ?.replace(/^:/, '');
  if (tz && isValidTimeZone(tz)) return tz;
  return systemTimeZone();
}
