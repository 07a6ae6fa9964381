import { describe, expect, it } from 'vitest';
import {
  buildSandboxArgs,
  defaultHiddenPaths,
  scrubEnvironment,
  type SandboxSpec,
} from '../../src/workspace/sandbox.js';

function spec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    command: 'claude',
    args: ['-p', 'hello'],
    cwd: '/srv/data/worktrees/task-1',
    writablePaths: ['/srv/data/worktrees/task-1'],
    hiddenPaths: [{ path: '/srv/data', kind: 'directory' }],
    env: { PATH: '/usr/bin:/bin', HOME: '/root' },
    network: false,
    ...overrides,
  };
}

/** The position of a flag followed by its operands, e.g. at(args, '--bind', '/w', '/w'). */
function at(args: string[], ...sequence: string[]): number {
  for (let i = 0; i <= args.length - sequence.length; i += 1) {
    if (sequence.every((part, j) => args[i + j] === part)) return i;
  }
  return -1;
}

describe('buildSandboxArgs', () => {
  it('builds the full argument list for a typical agent session', () => {
    expect(buildSandboxArgs(spec())).toEqual([
      '--unshare-all',
      '--cap-drop',
      'ALL',
      '--die-with-parent',
      '--new-session',
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--tmpfs',
      '/tmp',
      '--tmpfs',
      '/srv/data',
      '--bind',
      '/srv/data/worktrees/task-1',
      '/srv/data/worktrees/task-1',
      '--remount-ro',
      '/srv/data',
      '--clearenv',
      '--setenv',
      'HOME',
      '/root',
      '--setenv',
      'PATH',
      '/usr/bin:/bin',
      '--chdir',
      '/srv/data/worktrees/task-1',
      '--',
      'claude',
      '-p',
      'hello',
    ]);
  });

  it('shares the network only when network is allowed', () => {
    expect(buildSandboxArgs(spec({ network: false }))).not.toContain('--share-net');
    const args = buildSandboxArgs(spec({ network: true }));
    expect(args.slice(0, 2)).toEqual(['--unshare-all', '--share-net']);
  });

  it('binds a worktree under /tmp after the private /tmp, so it stays visible and writable', () => {
    const args = buildSandboxArgs(spec({ cwd: '/tmp/w', writablePaths: ['/tmp/w'], hiddenPaths: [] }));
    expect(at(args, '--tmpfs', '/tmp')).toBeGreaterThan(-1);
    expect(at(args, '--bind', '/tmp/w', '/tmp/w')).toBeGreaterThan(at(args, '--tmpfs', '/tmp'));
  });

  it('mounts shallow paths first whatever order they are given in, so the deepest rule wins', () => {
    const args = buildSandboxArgs(
      spec({
        writablePaths: ['/srv/data/worktrees/task-1'],
        readOnlyPaths: ['/srv/data/worktrees/review-2'],
        hiddenPaths: [
          { path: '/srv/data/worktrees/task-1/.env', kind: 'file' },
          { path: '/srv/data', kind: 'directory' },
        ],
      }),
    );
    const hideData = at(args, '--tmpfs', '/srv/data');
    const bindTask = at(args, '--bind', '/srv/data/worktrees/task-1', '/srv/data/worktrees/task-1');
    const showReview = at(args, '--ro-bind', '/srv/data/worktrees/review-2', '/srv/data/worktrees/review-2');
    const hideEnv = at(args, '--ro-bind', '/dev/null', '/srv/data/worktrees/task-1/.env');
    expect(hideData).toBeLessThan(bindTask);
    expect(hideData).toBeLessThan(showReview);
    expect(bindTask).toBeLessThan(hideEnv);
  });

  it('covers hidden files with /dev/null and hidden directories with an empty read-only tmpfs', () => {
    const args = buildSandboxArgs(
      spec({
        hiddenPaths: [
          { path: '/root/.netrc', kind: 'file' },
          { path: '/root/.ssh', kind: 'directory' },
        ],
      }),
    );
    expect(at(args, '--ro-bind', '/dev/null', '/root/.netrc')).toBeGreaterThan(-1);
    expect(at(args, '--tmpfs', '/root/.ssh')).toBeGreaterThan(-1);
    expect(at(args, '--remount-ro', '/root/.ssh')).toBeGreaterThan(at(args, '--tmpfs', '/root/.ssh'));
  });

  it('clears the environment and sets only the given variables', () => {
    const args = buildSandboxArgs(spec({ env: { PATH: '/bin' } }));
    const clear = args.indexOf('--clearenv');
    expect(clear).toBeGreaterThan(-1);
    expect(args.filter((arg) => arg === '--setenv')).toHaveLength(1);
    expect(at(args, '--setenv', 'PATH', '/bin')).toBeGreaterThan(clear);
  });

  it('puts the command after --, so its arguments are never read as bubblewrap options', () => {
    const args = buildSandboxArgs(spec({ command: 'sh', args: ['--bind', '/', '/'] }));
    expect(args.slice(-5)).toEqual(['--', 'sh', '--bind', '/', '/']);
  });

  it('refuses relative paths, the root directory, and a path that is both hidden and writable', () => {
    expect(() => buildSandboxArgs(spec({ writablePaths: ['worktree'] }))).toThrow(/must be absolute/);
    expect(() => buildSandboxArgs(spec({ writablePaths: ['/'] }))).toThrow(/cannot be the root/);
    expect(() => buildSandboxArgs(spec({ cwd: 'relative' }))).toThrow(/must be absolute/);
    expect(() =>
      buildSandboxArgs(
        spec({ writablePaths: ['/srv/data'], hiddenPaths: [{ path: '/srv/data/', kind: 'directory' }] }),
      ),
    ).toThrow(/both hidden and writable/);
  });
});

describe('scrubEnvironment', () => {
  const parent = {
    PATH: '/usr/bin',
    HOME: '/home/dev',
    LANG: 'C.UTF-8',
    TERM: 'xterm',
    USER: 'dev',
    ANTHROPIC_API_KEY: 'sk-secret',
    OPENAI_API_KEY: 'sk-openai',
    AWS_ACCESS_KEY_ID: 'AKIA',
    AWS_SECRET_ACCESS_KEY: 'aws-secret',
    DATABASE_URL: 'postgres://u:p@db/x',
    GITHUB_TOKEN: 'ghp_x',
    GITLAB_TOKEN: 'glpat-x',
    NPM_TOKEN: 'npm_x',
    UNSET: undefined,
  };

  it('keeps only PATH, HOME, LANG, LC_ALL, TERM, TZ and USER by default', () => {
    expect(scrubEnvironment(parent)).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/dev',
      LANG: 'C.UTF-8',
      TERM: 'xterm',
      USER: 'dev',
    });
  });

  it('lets an explicitly allowed variable through and nothing else', () => {
    const env = scrubEnvironment(parent, ['ANTHROPIC_API_KEY', 'NOT_SET']);
    expect(env.ANTHROPIC_API_KEY).toBe('sk-secret');
    expect(Object.keys(env)).not.toContain('NOT_SET');
    expect(Object.keys(env)).not.toContain('AWS_SECRET_ACCESS_KEY');
    expect(Object.keys(env)).not.toContain('DATABASE_URL');
  });
});

describe('defaultHiddenPaths', () => {
  it('hides the data dir and the credential stores in the home directory', () => {
    const paths = defaultHiddenPaths({ home: '/home/dev', dataDir: '/srv/autodev' });
    expect(paths).toContain('/srv/autodev');
    expect(paths).toContain('/home/dev/.ssh');
    expect(paths).toContain('/home/dev/.aws');
    expect(paths).toContain('/home/dev/.netrc');
    expect(paths).not.toContain('/home/dev');
    expect(paths).toContain('/etc/shadow');
  });
});
