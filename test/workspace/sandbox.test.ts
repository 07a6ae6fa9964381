import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import {
  assertSandboxAvailable,
  checkBubblewrap,
  resetSandboxState,
  runSandboxed,
  type SandboxRunOptions,
} from '../../src/workspace/sandbox.js';
import { gitOutput } from '../../src/workspace/git.js';
import { prepareWorktree, sandboxPathsFor, type Worktree } from '../../src/workspace/worktrees.js';
import { makeRepo, type TestRepo } from './git-fixtures.js';

const SECRET_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: homedir(),
  ANTHROPIC_API_KEY: 'sk-secret',
  AWS_SECRET_ACCESS_KEY: 'aws-secret-value',
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  DATABASE_URL: 'postgres://user:pw@db/prod',
  GITHUB_TOKEN: 'ghp_secret',
};

let t: TestRepo;
let wt: Worktree;
let dataDir: string;

/**
 * Outside /tmp, where repositories usually live: the sandbox's private /tmp would hide a main checkout under /tmp
 * entirely, and these tests want to see that it is visible but read-only. (Worktrees under /tmp are tested below.)
 */
const NOT_TMP = '/var/tmp';

beforeEach(async () => {
  resetSandboxState();
  t = await makeRepo(NOT_TMP);
  dataDir = join(t.root, 'data');
  await mkdir(dataDir);
  await writeFile(join(dataDir, 'secret.txt'), 'top secret\n');
  wt = await prepareWorktree({ repoPath: t.repo, baseDir: t.baseDir, taskId: 1, title: 'x', baseBranch: 'main' });
});

afterEach(async () => {
  await t.cleanup();
});

function sandboxed(script: string, overrides: Partial<SandboxRunOptions> = {}) {
  return runSandboxed({
    mode: 'bubblewrap',
    command: 'sh',
    args: ['-c', script],
    cwd: wt.path,
    ...sandboxPathsFor(wt),
    hiddenPaths: [dataDir],
    env: SECRET_ENV,
    network: false,
    timeoutMs: 20_000,
    ...overrides,
  });
}

/** Command lines of the processes on this machine that contain `marker` (sandboxed processes included). */
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

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe('runSandboxed in bubblewrap mode: filesystem', () => {
  it('a sandboxed command can write inside the worktree', async () => {
    const result = await sandboxed('echo made inside > out.txt && mkdir -p src && echo x > src/y.ts');
    expect(result).toMatchObject({ exitCode: 0, sandboxed: true });
    expect(await readFile(join(wt.path, 'out.txt'), 'utf8')).toBe('made inside\n');
  });

  it('a sandboxed command cannot write to the repository’s main checkout', async () => {
    const result = await sandboxed(`echo evil > ${t.repo}/README.md`);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(/Read-only file system/);
    expect(await readFile(join(t.repo, 'README.md'), 'utf8')).toBe('# sample\n');
  });

  it('a sandboxed command cannot commit or move the default branch, but git can read the repository', async () => {
    const main = await gitOutput(t.repo, ['rev-parse', 'main']);
    const result = await sandboxed(
      'git log --oneline -1 && git status --short && ' +
        'git update-ref refs/heads/main HEAD^{tree} 2>&1; git branch -f main 2>&1; echo x > f && git add f 2>&1; ' +
        'git -c user.name=a -c user.email=b commit -qm evil 2>&1; true',
    );
    expect(result.stdout).toContain('initial commit');
    expect(await gitOutput(t.repo, ['rev-parse', 'main'])).toBe(main);
    expect(await gitOutput(t.repo, ['rev-parse', wt.branch as string])).toBe(wt.head);
  });

  it('a sandboxed command cannot write to /etc', async () => {
    const result = await sandboxed('echo evil > /etc/autodev-sandbox-test');
    expect(result.exitCode).not.toBe(0);
    expect(existsSync('/etc/autodev-sandbox-test')).toBe(false);
  });

  it('a sandboxed command cannot write to the user’s home', async () => {
    const target = join(homedir(), `autodev-sandbox-test-${process.pid}`);
    const result = await sandboxed(`echo evil > ${target}`);
    expect(result.exitCode).not.toBe(0);
    expect(existsSync(target)).toBe(false);
  });

  it('a sandboxed command cannot read the data dir', async () => {
    const result = await sandboxed(`ls -A ${dataDir}; cat ${dataDir}/secret.txt`);
    expect(result.stdout).not.toContain('secret');
    expect(result.stderr).toMatch(/No such file/);
    expect(result.exitCode).not.toBe(0);
  });

  it('a sandboxed command cannot unmount the hidden data dir to reveal it', async () => {
    const result = await sandboxed(
      `umount ${dataDir} 2>/dev/null; umount -l ${dataDir} 2>/dev/null; cat ${dataDir}/secret.txt`,
    );
    expect(result.stdout).not.toContain('top secret');
    expect(result.exitCode).not.toBe(0);
  });

  it('a sandboxed command cannot write into the hidden data dir', async () => {
    const result = await sandboxed(`echo x > ${dataDir}/planted.txt`);
    expect(result.exitCode).not.toBe(0);
    expect(existsSync(join(dataDir, 'planted.txt'))).toBe(false);
  });

  it('a sandboxed command cannot read a hidden file', async () => {
    const netrc = join(t.root, 'netrc');
    await writeFile(netrc, 'machine example.com password hunter2\n');
    const result = await sandboxed(`cat ${netrc}`, { hiddenPaths: [dataDir, netrc, join(t.root, 'missing-dir')] });
    expect(result.stdout).not.toContain('hunter2');
    expect(result.exitCode).not.toBe(0);
  });

  it('a worktree inside the hidden data dir is still writable', async () => {
    const inside = await prepareWorktree({
      repoPath: t.repo,
      baseDir: join(dataDir, 'worktrees'),
      taskId: 2,
      title: 'inside',
      baseBranch: 'main',
    });
    const result = await sandboxed(`echo ok > out.txt; cat ${dataDir}/secret.txt`, {
      cwd: inside.path,
      ...sandboxPathsFor(inside),
    });
    expect(await readFile(join(inside.path, 'out.txt'), 'utf8')).toBe('ok\n');
    expect(result.stdout).not.toContain('top secret');
  });

  it('a sandboxed command gets a private /tmp, and a worktree under /tmp stays writable with git working', async () => {
    const inTmp = await makeRepo('/tmp');
    try {
      const tmpWt = await prepareWorktree({
        repoPath: inTmp.repo,
        baseDir: inTmp.baseDir,
        taskId: 3,
        title: 'in tmp',
        baseBranch: 'main',
      });
      const marker = `/tmp/autodev-private-${process.pid}`;
      const result = await sandboxed(`echo private > ${marker} && echo ok > out.txt && git status --short`, {
        cwd: tmpWt.path,
        ...sandboxPathsFor(tmpWt),
      });
      expect(result).toMatchObject({ exitCode: 0, stdout: '?? out.txt\n' });
      expect(existsSync(marker)).toBe(false);
      expect(await readFile(join(tmpWt.path, 'out.txt'), 'utf8')).toBe('ok\n');
    } finally {
      await inTmp.cleanup();
    }
  });
});

describe('runSandboxed in bubblewrap mode: environment', () => {
  it('a sandboxed command sees none of the secret environment variables', async () => {
    const result = await sandboxed('env');
    expect(result.exitCode).toBe(0);
    for (const secret of ['sk-secret', 'aws-secret-value', 'AKIAEXAMPLE', 'postgres://', 'ghp_secret']) {
      expect(result.stdout).not.toContain(secret);
    }
    expect(result.stdout).toContain(`PATH=${SECRET_ENV.PATH}`);
  });

  it('an allowlisted variable reaches the sandboxed command', async () => {
    const result = await sandboxed('echo "key=$ANTHROPIC_API_KEY db=$DATABASE_URL"', {
      allowEnv: ['ANTHROPIC_API_KEY'],
    });
    expect(result.stdout).toBe('key=sk-secret db=\n');
  });
});

describe('runSandboxed in bubblewrap mode: network', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((socket) => socket.end('hello from the host\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const probe = () =>
    `const s = require('net').connect(${port}, '127.0.0.1');` +
    `s.on('data', (d) => { process.stdout.write('connected: ' + d); process.exit(0); });` +
    `s.on('error', (e) => { process.stdout.write('failed: ' + e.code); process.exit(3); });`;

  it('a sandboxed command has no network when network is false', async () => {
    const result = await sandboxed('', { command: process.execPath, args: ['-e', probe()], network: false });
    expect(result.stdout).toMatch(/^failed: /);
    expect(result.exitCode).toBe(3);
  });

  it('a sandboxed command reaches the network when network is true', async () => {
    const result = await sandboxed('', { command: process.execPath, args: ['-e', probe()], network: true });
    expect(result.stdout).toBe('connected: hello from the host\n');
    expect(result.exitCode).toBe(0);
  });
});

describe('runSandboxed in bubblewrap mode: stopping', () => {
  it('a timeout kills the sandboxed command and its children and reports timedOut', async () => {
    const marker = `${process.pid}${Date.now() % 100000}`;
    const started = Date.now();
    const result = await sandboxed(`sleep 1${marker} & sleep 2${marker}; wait`, { timeoutMs: 1_000, killGraceMs: 500 });

    expect(result.timedOut).toBe(true);
    expect(result.aborted).toBe(false);
    expect(result.exitCode).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await eventually(async () => (await processesWith(marker)).length === 0)).toBe(true);
  });

  it('aborting via the signal kills the sandboxed command and its children', async () => {
    const marker = `${process.pid}${(Date.now() + 7) % 100000}`;
    const controller = new AbortController();
    const running = sandboxed(`sleep 1${marker} & sleep 2${marker}; wait`, {
      signal: controller.signal,
      killGraceMs: 500,
    });
    const sleeping = async () => (await processesWith(marker)).filter((cmd) => cmd.startsWith('sleep ')).length === 2;
    expect(await eventually(sleeping)).toBe(true);
    controller.abort();
    const result = await running;

    expect(result.aborted).toBe(true);
    expect(result.timedOut).toBe(false);
    expect(await eventually(async () => (await processesWith(marker)).length === 0)).toBe(true);
  });

  it('streams output to the callbacks as it comes', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const result = await sandboxed('echo one; echo two >&2', {
      onStdout: (text) => out.push(text),
      onStderr: (text) => err.push(text),
    });
    expect(out.join('')).toBe('one\n');
    expect(err.join('')).toBe('two\n');
    expect(result.stdout).toBe('one\n');
  });
});

describe('sandbox availability', () => {
  it('bubblewrap mode refuses with SANDBOX_UNAVAILABLE naming the fix when bwrap is missing', async () => {
    const run = sandboxed('echo should not run > ran.txt', { bwrapPath: join(t.root, 'no-such-bwrap') });
    await expect(run).rejects.toMatchObject({ code: 'SANDBOX_UNAVAILABLE' });
    await expect(run).rejects.toThrow(/apt-get install bubblewrap.*sandbox\.mode: none/);
    expect(existsSync(join(wt.path, 'ran.txt'))).toBe(false);
  });

  it('bubblewrap mode refuses a bwrap that fails its self-check', async () => {
    const broken = join(t.root, 'broken-bwrap');
    await writeFile(broken, '#!/bin/sh\necho "bwrap: No permissions to creating new namespace" >&2\nexit 1\n', {
      mode: 0o755,
    });
    await expect(assertSandboxAvailable('bubblewrap', broken)).rejects.toThrow(
      /fails its self-check: bwrap: No permissions to creating new namespace/,
    );
  });

  it('the real bwrap passes its self-check, and the check runs once', async () => {
    let spawned = 0;
    const { spawn } = await import('node:child_process');
    const counting = ((...args: Parameters<typeof spawn>) => {
      spawned += 1;
      return spawn(...args);
    }) as typeof spawn;
    expect(await checkBubblewrap('bwrap', { spawn: counting })).toEqual({ available: true });
    expect(await checkBubblewrap('bwrap', { spawn: counting })).toEqual({ available: true });
    expect(spawned).toBe(1);
  });

  it('none mode never needs bubblewrap', async () => {
    await expect(assertSandboxAvailable('none', join(t.root, 'no-such-bwrap'))).resolves.toBeUndefined();
  });
});

describe('runSandboxed in none mode', () => {
  function captureLogger() {
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    return { logger: createLogger({ destination, level: 'warn', pretty: false }), lines };
  }

  it('none mode runs the command directly and warns once per process that agents run UNSANDBOXED', async () => {
    const { logger, lines } = captureLogger();
    const outside = join(t.root, 'written-outside.txt');
    const first = await sandboxed(`echo direct > ${outside}`, { mode: 'none', logger });
    const second = await sandboxed('true', { mode: 'none', logger });
    await new Promise((resolve) => setImmediate(resolve));

    expect(first).toMatchObject({ exitCode: 0, sandboxed: false });
    expect(second.sandboxed).toBe(false);
    expect(await readFile(outside, 'utf8')).toBe('direct\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 40, msg: expect.stringContaining('UNSANDBOXED') });
  });

  it('none mode still scrubs the environment', async () => {
    const { logger } = captureLogger();
    const result = await sandboxed('env', { mode: 'none', logger });
    expect(result.stdout).not.toContain('sk-secret');
    expect(result.stdout).not.toContain('aws-secret-value');
    expect(result.stdout).not.toContain('postgres://');
  });
});
