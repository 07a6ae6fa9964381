/**
 * @module Pretty log lines (a terminal's): pino-pretty is loaded only when a logger is pretty, so the check runs the
 * built module (`npm run build:emit`) in a child process, once writing straight to stderr and once through a
 * process-log store, and reads what reaches stderr.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOG_MODULE = pathToFileURL(
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/src/log.js'),
).href;

async function stderrOf(options: string): Promise<string> {
  const script = `
    const { createLogger } = await import(${JSON.stringify(LOG_MODULE)});
    const stored = [];
    const logger = createLogger(${options});
    logger.info({ token: 'hunter2' }, 'hello pretty');
    logger.flush();
  `;
  const { stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  return stderr;
}

describe('pretty log lines', () => {
  it('straight to stderr (a worker-thread transport): human-readable, the token censored', async () => {
    const stderr = await stderrOf('{ pretty: true }');
    expect(stderr).toContain('hello pretty');
    expect(stderr).toContain('INFO');
    expect(stderr).toContain('[REDACTED]');
    expect(stderr).not.toContain('hunter2');
    expect(stderr).not.toContain('{"level"');
  });

  it('beside a process-log store: human-readable on stderr, the token censored', async () => {
    const stderr = await stderrOf('{ pretty: true, store: { write: (line) => stored.push(line) } }');
    expect(stderr).toContain('hello pretty');
    expect(stderr).toContain('INFO');
    expect(stderr).not.toContain('hunter2');
    expect(stderr).not.toContain('{"level"');
  });
});
