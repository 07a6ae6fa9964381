/**
 * The test harness's own guarantee: a child a test started cannot outlive the test, grandchildren included (real
 * processes, real signals).
 */
import { describe, expect, it } from 'vitest';
import { execFileInGroup, spawnInGroup } from './child-processes.js';

/** A shell that starts a long `sleep` grandchild, prints its pid and waits for it. */
const WITH_GRANDCHILD = ['-c', 'sleep 300 & echo $!; wait'];

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `pid` is gone (a killed process is reaped by init within moments); fails after 10 s. */
async function gone(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} is still alive`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('child processes of a test', () => {
  it('a run that times out is killed with its whole group, grandchildren included', async () => {
    const child = spawnInGroup('sh', WITH_GRANDCHILD, { stdio: ['ignore', 'pipe', 'ignore'] });
    const grandchild = await new Promise<number>((resolve) =>
      child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
    );
    child.kill('SIGKILL'); // the leader alone: its grandchild lives on in the group
    await new Promise((resolve) => child.once('exit', resolve));
    expect(alive(grandchild)).toBe(true);

    const outcome = await execFileInGroup('sh', WITH_GRANDCHILD, { timeout: 300 });
    expect(outcome.code).toBeNull(); // killed
    await gone(Number(outcome.stdout.trim()));
    leftBehind.push(grandchild);
  });

  const leftBehind: number[] = [];
  it('what the previous test left running was killed after it', async () => {
    expect(leftBehind).toHaveLength(1);
    await gone(leftBehind[0]!);
  });
});
