import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { OutputTail, runCommand } from '../../src/workspace/run-command.js';

async function processesWith(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (cmdline.includes(marker)) found.push(cmdline);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** The processes with `marker` once none is left, or those still there after 10 s (a kill takes a moment). */
async function processesLeftWith(marker: string): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = await processesWith(marker);
    if (found.length === 0 || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('runCommand', () => {
  it('returns the exit code, stdout and stderr of a command', async () => {
    const result = await runCommand({ command: 'sh', args: ['-c', 'echo out; echo err >&2; exit 3'], cwd: '/' });
    expect(result).toMatchObject({
      exitCode: 3,
      signal: null,
      stdout: 'out\n',
      stderr: 'err\n',
      timedOut: false,
      aborted: false,
    });
  });

  it('passes the given environment and nothing else', async () => {
    const result = await runCommand({ command: '/usr/bin/env', cwd: '/', env: { ONLY: 'this' } });
    expect(result.stdout).toBe('ONLY=this\n');
  });

  it('writes the input to stdin', async () => {
    const result = await runCommand({ command: 'cat', cwd: '/', input: 'piped in' });
    expect(result.stdout).toBe('piped in');
  });

  it('keeps only the last bytes of a large output and says it was truncated', async () => {
    const result = await runCommand({
      command: 'sh',
      args: ['-c', 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done'],
      cwd: '/',
      maxOutputBytes: 100,
    });
    expect(result.stdoutTruncated).toBe(true);
    expect(Buffer.byteLength(result.stdout)).toBe(100);
    expect(result.stdout.endsWith('line 1999\n')).toBe(true);
  });

  it('streams output to the callbacks, whole characters only', async () => {
    const chunks: string[] = [];
    await runCommand({ command: 'printf', args: ['h\\303\\251llo'], cwd: '/', onStdout: (text) => chunks.push(text) });
    expect(chunks.join('')).toBe('héllo');
  });

  it('a timeout kills the command and its children and reports timedOut', async () => {
    const marker = `7${process.pid}${Date.now() % 10000}`;
    const result = await runCommand({
      command: 'sh',
      args: ['-c', `sleep 1${marker} & sleep 2${marker}; wait`],
      cwd: '/',
      timeoutMs: 300,
      killGraceMs: 200,
    });
    expect(result).toMatchObject({ timedOut: true, aborted: false, exitCode: null, signal: 'SIGTERM' });
    expect(await processesLeftWith(marker)).toEqual([]);
  });

  it('a child that ignores SIGTERM is killed after the grace period', async () => {
    const marker = `8${process.pid}${Date.now() % 10000}`;
    const result = await runCommand({
      command: 'sh',
      args: ['-c', `trap '' TERM; sleep 1${marker}`],
      cwd: '/',
      timeoutMs: 200,
      killGraceMs: 300,
    });
    expect(result.timedOut).toBe(true);
    expect(await processesLeftWith(marker)).toEqual([]);
  });

  it('aborting via the signal kills the command', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const result = await runCommand({ command: 'sleep', args: ['30'], cwd: '/', signal: controller.signal });
    expect(result).toMatchObject({ aborted: true, timedOut: false, signal: 'SIGTERM' });
  });

  it('does not start a command whose signal is already aborted', async () => {
    let spawned = false;
    const result = await runCommand(
      { command: 'sleep', args: ['30'], cwd: '/', signal: AbortSignal.abort() },
      {
        spawn: (() => {
          spawned = true;
          throw new Error('must not spawn');
        }) as never,
      },
    );
    expect(result.aborted).toBe(true);
    expect(spawned).toBe(false);
  });

  it('measures the duration with the given clock', async () => {
    let tick = 1000;
    const result = await runCommand({ command: 'true', cwd: '/' }, { now: () => (tick += 250) });
    expect(result.durationMs).toBe(250);
  });

  it('rejects with COMMAND_NOT_STARTED when the command does not exist', async () => {
    await expect(runCommand({ command: 'autodev-no-such-command', cwd: '/' })).rejects.toMatchObject({
      code: 'COMMAND_NOT_STARTED',
      message: expect.stringContaining('autodev-no-such-command'),
    });
  });
});

describe('OutputTail', () => {
  it('keeps the last bytes across chunks', () => {
    const tail = new OutputTail(5);
    tail.push(Buffer.from('abc'));
    tail.push(Buffer.from('defg'));
    expect(tail.toString()).toBe('cdefg');
    expect(tail.truncated).toBe(true);
  });

  it('is not truncated under the limit', () => {
    const tail = new OutputTail(5);
    tail.push(Buffer.from('abc'));
    expect(tail.toString()).toBe('abc');
    expect(tail.truncated).toBe(false);
  });
});
