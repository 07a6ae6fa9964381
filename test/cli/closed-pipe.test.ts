/**
 * @module `autodev ... | head`: the BUILT cli (`npm run build` first) writing into a pipe whose reader has already
 * gone ends quietly (no EPIPE stack trace on stderr), through the shell as a user types it and with the read end
 * closed before the first write.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AUTODEV_BIN } from '../support/built-cli.js';

const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-pipe-'));
afterAll(() => fs.rmSync(cwd, { recursive: true, force: true }));

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  delete env.DATABASE_URL;
  for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
  return env;
}

function collect(child: ReturnType<typeof spawn>): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('a closed pipe on stdout', () => {
  it('the read end closed before the cli writes: exit 0, nothing on stderr', async () => {
    const child = spawn(process.execPath, [AUTODEV_BIN, '--data-dir', path.join(cwd, 'data'), 'tasks', 'types'], {
      cwd,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Closed long before the cli has started: its first write to stdout fails with EPIPE.
    child.stdout.destroy();
    const outcome = await collect(child);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
  });

  it('autodev tasks types --json | head -c 0 (it exits before the cli writes), through the shell: no stack trace', async () => {
    const command = `"${process.execPath}" "${AUTODEV_BIN}" tasks types --json | head -c 0; echo "status \${PIPESTATUS[0]}" >&2`;
    const child = spawn('bash', ['-c', command], { cwd, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    const outcome = await collect(child);
    expect(outcome.stderr).toMatch(/^status 0\n$/);
    expect(outcome.stderr).not.toMatch(/EPIPE|Error/);
  });
});
