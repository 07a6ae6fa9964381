/**
 * @module `autodev secrets set|get|list|delete|check` in process (the real program, parsing, errors and exit codes)
 * on each provider: the encrypted file, SSM on moto's server mode (a real AWS emulator) and the read-only
 * environment. The value comes from standard input only, `get` prints it only with --reveal, `list` and `check` print
 * names only, and bad input (a value on the command line, a bad name, a wrong key) changes nothing. The spawned smoke
 * test pipes a value into the built binary.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/run.js';
import { AUTODEV_BIN } from '../support/built-cli.js';
import { createTestDatabase, type TestDatabase } from '../support/dialects.js';
import { MOTO_AWS_ENV, freshSsmPrefix, motoEndpoint } from '../support/secret-fixtures.js';

vi.setConfig({ testTimeout: 60_000 });

const CANARY = 'npm_cli-canary-61c0d2e9f4';

let scratch: string;
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-secrets-cli-'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

/** A data dir of its own (a migrated SQLite database: `check` reads the repositories) with `secrets:` settings. */
async function setup(secrets: string, env: Record<string, string> = {}) {
  const database = await createTestDatabase('sqlite');
  databases.push(database);
  const dataDir = path.dirname(database.sqlitePath!);
  fs.writeFileSync(path.join(dataDir, 'settings.yaml'), `secrets:\n${secrets}`);
  return async (args: readonly string[], stdin?: string): Promise<Outcome> => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--data-dir', dataDir, ...args], {
      env: { PATH: process.env.PATH, HOME: os.homedir(), LOG_LEVEL: 'silent', ...env },
      cwd: dataDir,
      stdout: { write: (text: string) => (stdout += text) },
      stderr: { write: (text: string) => (stderr += text) },
      ...(stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(stdin)]) }),
      now: Date.now,
      listenForShutdown: () => new AbortController().signal,
    });
    return { code, stdout, stderr };
  };
}

function writableCases() {
  return [
    {
      label: 'file',
      make: () => setup('  provider: file\n', { AUTODEV_MASTER_KEY: 'cli-test-master-key' }),
    },
    {
      label: 'ssm (moto server mode, a real AWS emulator)',
      make: () =>
        setup(`  provider: ssm\n  prefix: ${freshSsmPrefix()}\n  endpoint: ${motoEndpoint()}\n`, MOTO_AWS_ENV),
    },
  ];
}

describe.each(writableCases())('autodev secrets on the $label provider', ({ make }) => {
  it('sets from stdin, hides the value unless --reveal, lists names, checks features, deletes', async () => {
    const run = await make();
    const set = await run(['secrets', 'set', 'npm/token'], `${CANARY}\n`);
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(/\/npm\/token set \(/);
    expect(set.stdout + set.stderr).not.toContain(CANARY);

    const hidden = await run(['secrets', 'get', 'npm/token']);
    expect(hidden.code).toBe(0);
    expect(hidden.stdout).toContain('pass --reveal');
    expect(hidden.stdout).not.toContain(CANARY);
    const revealed = await run(['secrets', 'get', 'npm/token', '--reveal']);
    expect(revealed.stdout).toBe(`${CANARY}\n`);

    await run(['secrets', 'set', 'gitlab-webhook-secret'], 'whsec-0123456789');
    const list = await run(['secrets', 'list', '--json']);
    const names = (JSON.parse(list.stdout) as { names: string[] }).names;
    expect(names.map((name) => name.replace(/^.*\/auto-dev\//, ''))).toEqual(['gitlab-webhook-secret', 'npm/token']);
    expect(list.stdout).not.toContain(CANARY);

    const check = await run(['secrets', 'check']);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain('npm publishing: ready');
    expect(check.stdout).toContain('GitLab webhook check: ready');
    expect(check.stdout).toMatch(/GitHub releases: \S*\/auto-dev\/github\/token missing/);
    expect(check.stdout).not.toContain(CANARY);

    const deleted = await run(['secrets', 'delete', 'npm/token']);
    expect(deleted.code).toBe(0);
    const gone = await run(['secrets', 'get', 'npm/token']);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/npm\/token is not set/);
    const again = await run(['secrets', 'delete', 'npm/token']);
    expect(again.code).toBe(2);
  });

  it('refuses a value on the command line, an empty value and a bad name, setting nothing', async () => {
    const run = await make();
    const argv = await run(['secrets', 'set', 'npm/token', CANARY], '');
    expect(argv.code).toBe(2);
    expect(argv.stderr).not.toContain(CANARY);
    const empty = await run(['secrets', 'set', 'npm/token'], '\n');
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('empty');
    const bad = await run(['secrets', 'set', '../etc/passwd'], CANARY);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('is not a secret name');
    expect(JSON.parse((await run(['secrets', 'list', '--json'])).stdout)).toMatchObject({ names: [] });
  });
});

describe('autodev secrets on the environment and file providers', () => {
  it('the environment provider reads the environment and refuses to write, naming the variable', async () => {
    const run = await setup('  provider: environment\n', { NPM_TOKEN: CANARY, GUMROAD_EMAIL: 'seller@example.com' });
    const set = await run(['secrets', 'set', 'github/token'], 'ghp_0123456789');
    expect(set.code).toBe(2);
    expect(set.stderr).toContain('GITHUB_TOKEN');
    expect((await run(['secrets', 'get', 'npm/token', '--reveal'])).stdout).toBe(`${CANARY}\n`);
    expect((await run(['secrets', 'list'])).stdout).toBe('/auto-dev/gumroad/email\n/auto-dev/npm/token\n');
    const check = await run(['secrets', 'check']);
    expect(check.stdout).toContain('npm publishing: ready');
    expect(check.stdout).toContain('Vercel deployments: /auto-dev/vercel/token missing');
  });

  it("check names a repository's missing deploy secrets", async () => {
    const run = await setup('  provider: file\n', { AUTODEV_MASTER_KEY: 'cli-test-master-key' });
    const repo = fs.mkdtempSync(path.join(scratch, 'repo-'));
    execFileSync('git', ['init', '-q', '-b', 'main', repo]);
    execFileSync('git', [
      '-C',
      repo,
      '-c',
      'user.email=t@t',
      '-c',
      'user.name=t',
      'commit',
      '-q',
      '--allow-empty',
      '-m',
      'x',
    ]);
    const added = await run(['repos', 'add', repo, '--name', 'shop', '--deploy-secret', 'FLY_API_TOKEN']);
    expect(added.code, added.stderr).toBe(0);
    expect((await run(['secrets', 'check'])).stdout).toContain('deploy of shop: /auto-dev/FLY_API_TOKEN missing');
    await run(['secrets', 'set', 'FLY_API_TOKEN'], 'fly-0123456789');
    expect((await run(['secrets', 'check'])).stdout).toContain('deploy of shop: ready');
  });

  it('a wrong master key is refused clearly and the file is left as it was', async () => {
    const dataDir = fs.mkdtempSync(path.join(scratch, 'data-'));
    const runWith = (key: string) => {
      fs.writeFileSync(path.join(dataDir, 'settings.yaml'), 'secrets:\n  provider: file\n');
      return async (args: string[], stdin?: string) => {
        let stdout = '';
        let stderr = '';
        const code = await runCli(['--data-dir', dataDir, ...args], {
          env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', AUTODEV_MASTER_KEY: key },
          cwd: dataDir,
          stdout: { write: (text: string) => (stdout += text) },
          stderr: { write: (text: string) => (stderr += text) },
          ...(stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(stdin)]) }),
          now: Date.now,
          listenForShutdown: () => new AbortController().signal,
        });
        return { code, stdout, stderr };
      };
    };
    expect((await runWith('right-key-123')(['secrets', 'set', 'npm/token'], CANARY)).code).toBe(0);
    const before = fs.readFileSync(path.join(dataDir, 'secrets.enc'));
    const wrong = await runWith('wrong-key-456')(['secrets', 'set', 'github/token'], 'ghp_0123456789');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('cannot decrypt');
    expect(fs.readFileSync(path.join(dataDir, 'secrets.enc'))).toEqual(before);
  });

  it('the built binary reads the value piped into it (spawned smoke test)', () => {
    const dataDir = fs.mkdtempSync(path.join(scratch, 'data-'));
    fs.writeFileSync(path.join(dataDir, 'settings.yaml'), 'secrets:\n  provider: file\n');
    const env = { PATH: process.env.PATH, HOME: os.homedir(), LOG_LEVEL: 'silent', AUTODEV_MASTER_KEY: 'smoke-key-1' };
    const cli = (args: string[], input?: string) =>
      spawnSync(process.execPath, [AUTODEV_BIN, '--data-dir', dataDir, ...args], {
        env,
        input,
        encoding: 'utf8',
        timeout: 20_000,
      });
    const set = cli(['secrets', 'set', 'npm/token'], `${CANARY}\n`);
    expect(set.status, set.stderr).toBe(0);
    expect(cli(['secrets', 'get', 'npm/token', '--reveal']).stdout).toBe(`${CANARY}\n`);
  });
});
