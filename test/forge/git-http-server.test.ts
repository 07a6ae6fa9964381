import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitCredentialEnv } from '../../src/forge/git-credential-env.js';
import { git } from '../../src/workspace/git.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';

const TOKEN = 'glpat-test-token-1';
let dir: string;
let server: GitHttpServer;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'git-http-'));
  const root = path.join(dir, 'srv');
  fs.mkdirSync(path.join(root, 'group'), { recursive: true });
  execFileSync('git', ['init', '--bare', '-q', '-b', 'main', path.join(root, 'group', 'app.git')]);
  server = await startGitHttpServer({ root, tokens: new Set([TOKEN]), readOnlyTokens: new Set(['read-only']) });
});
afterAll(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('git smart HTTP through git http-backend (the real protocol, a local server)', () => {
  it('pushes, clones and fetches with the token given only through the environment', async () => {
    const remote = `${server.url}/group/app.git`;
    const env = { ...process.env, ...gitCredentialEnv(remote, TOKEN, 'oauth2') };
    const work = path.join(dir, 'work');
    fs.mkdirSync(work);
    await git(work, ['init', '-q', '-b', 'main']);
    fs.writeFileSync(path.join(work, 'a.txt'), 'hello\n');
    await git(work, ['add', '.']);
    await git(work, ['commit', '-qm', 'first'], { asAutodev: true });
    await git(work, ['push', '-q', remote, 'HEAD:refs/heads/main'], { env });
    const clone = path.join(dir, 'clone');
    await git(dir, ['clone', '-q', remote, clone], { env });
    expect(fs.readFileSync(path.join(clone, 'a.txt'), 'utf8')).toBe('hello\n');
    const config = fs.readFileSync(path.join(clone, '.git', 'config'), 'utf8');
    expect(config).not.toContain(TOKEN);
    expect(config).toContain(remote);
  });

  it("runs no hook of the clone while the token is in git's environment", async () => {
    const remote = `${server.url}/group/app.git`;
    const clone = path.join(dir, 'clone');
    const marker = path.join(dir, 'hook-ran');
    const hook = path.join(clone, '.git', 'hooks', 'pre-push');
    fs.writeFileSync(hook, `#!/bin/sh\nenv > ${marker}\n`, { mode: 0o755 });
    await git(clone, ['checkout', '-q', '-b', 'hooked']);
    await git(clone, ['push', '-q', remote, 'HEAD:refs/heads/hooked'], {
      env: { ...process.env, ...gitCredentialEnv(remote, TOKEN, 'oauth2') },
    });
    expect(
      (
        await git(clone, ['ls-remote', remote, 'refs/heads/hooked'], {
          env: { ...process.env, ...gitCredentialEnv(remote, TOKEN, 'oauth2') },
        })
      ).stdout,
    ).toContain('refs/heads/hooked');
    expect(fs.existsSync(marker)).toBe(false);
    // The same hook does run without the credential environment: the test would see it.
    await git(clone, ['push', '-q', path.join(server.root, 'group', 'app.git'), 'HEAD:refs/heads/hooked-local']);
    expect(fs.existsSync(marker)).toBe(true);
  });

  it('refuses a clone without a token or with a wrong one, and a push with a read-only token', async () => {
    const remote = `${server.url}/group/app.git`;
    const none = await git(dir, ['ls-remote', remote], { okExitCodes: [128] });
    expect(none.exitCode).toBe(128);
    const wrong = await git(dir, ['ls-remote', remote], {
      okExitCodes: [128],
      env: { ...process.env, ...gitCredentialEnv(remote, 'wrong', 'oauth2') },
    });
    expect(wrong.exitCode).toBe(128);
    expect(wrong.stderr).toMatch(/Authentication failed|401/);
    const readOnly = { ...process.env, ...gitCredentialEnv(remote, 'read-only', 'oauth2') };
    const listed = await git(dir, ['ls-remote', remote], { env: readOnly });
    expect(listed.stdout).toContain('refs/heads/main');
    const clone = path.join(dir, 'clone');
    const pushed = await git(clone, ['push', remote, 'HEAD:refs/heads/other'], { env: readOnly, okExitCodes: [128] });
    expect(pushed.exitCode).toBe(128);
    expect(pushed.stderr).toMatch(/403/);
  });
});
