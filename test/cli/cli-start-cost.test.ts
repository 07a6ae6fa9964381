/**
 * @module What the BUILT `autodev` (`npm run build` first) loads to start: `--version`, `--help` and a usage error
 * load no database driver, query builder, forge client, HTTP server, logger or schema library (each command's module
 * loads when that command runs); `tasks list` on SQLite loads no PostgreSQL driver; and `autodev mcp`, started by
 * every agent session, serves `tools/list` without the store, the server or the forge clients; `autodev up` starts
 * its server and agents without the AWS SDK, secretlint or pino-pretty (loaded when used). A module-load hook
 * (`node:module` `register`, a `load` hook) in the child `node` records the URL of every file it loads; a file of the
 * CLI bundle counts as the modules bundled in it (its source map's sources).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { AUTODEV_BIN } from '../support/built-cli.js';
import { execFileInGroup, spawnInGroup } from '../support/child-processes.js';
import { makeSessionDir, removeSessionDirs } from '../mcp/session-fixtures.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'autodev-start-cost-'));
afterAll(async () => {
  fs.rmSync(scratch, { recursive: true, force: true });
  await removeSessionDirs();
});

/** Packages no command line needs before a command runs. */
const HEAVY_PACKAGES = ['kysely', 'pg', 'better-sqlite3', '@octokit/', '@gitbeaker/', 'fastify', 'pino', 'zod'];
/** Packages the session MCP server must start without (it opens no database, serves no HTTP, calls no forge). */
const NOT_FOR_MCP = ['kysely', 'pg', 'better-sqlite3', '@octokit/', '@gitbeaker/', 'fastify', 'pino'];
/** Packages a server or agent process loads only when it uses them: SSM secrets, a secret scan, a terminal's logs. */
const LOADED_WHEN_USED = ['@aws-sdk/', '@smithy/', '@secretlint/', 'pino-pretty'];

let runs = 0;

/** `node --import <a hook that appends each loaded module's URL to a file> ...args`: the file and the node args. */
function recordingModules(): { log: string; nodeArgs: string[] } {
  const log = path.join(scratch, `modules-${++runs}.log`);
  const hooks =
    "import fs from 'node:fs';\n" +
    `export async function load(url, context, next) { fs.appendFileSync(${JSON.stringify(log)}, url + '\\n'); ` +
    'return next(url, context); }';
  const register =
    "import { register } from 'node:module';\n" +
    `register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
  return { log, nodeArgs: ['--import', `data:text/javascript,${encodeURIComponent(register)}`] };
}

/**
 * The modules a child loaded: each loaded file's path, except that a file of the CLI bundle (`dist/cli/`, see
 * rolldown.config.ts) stands for the modules bundled in it, the `sources` of its source map (`dist/src/...` and
 * `node_modules/...` files).
 */
function loadedModules(log: string): string[] {
  const files = fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .flatMap((url) => (url.startsWith('file:') ? [fileURLToPath(url)] : []));
  expect(
    files.some((file) => file.includes('/dist/cli/')),
    'the child ran the CLI bundle',
  ).toBe(true);
  return files.flatMap((file) => {
    if (!file.includes('/dist/cli/')) return [file];
    // rolldown's own runtime helpers, no module of anyone's, come without a map.
    if (!fs.existsSync(`${file}.map`)) return [];
    const map = JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
    return map.sources.map((source) => path.resolve(path.dirname(file), source));
  });
}

/** The npm packages among the loaded modules, e.g. `commander`, `@octokit/rest`. */
function loadedPackages(log: string): string[] {
  const names = new Set<string>();
  for (const url of loadedModules(log)) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match) names.add(match[1]!);
  }
  return [...names].sort();
}

function loadedSourceModules(log: string): string[] {
  return loadedModules(log).flatMap((url) => /\/dist\/(src\/.*\.js)$/.exec(url)?.[1] ?? []);
}

function matching(packages: readonly string[], banned: readonly string[]): string[] {
  return packages.filter((name) => banned.some((b) => (b.endsWith('/') ? name.startsWith(b) : name === b)));
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  delete env.DATABASE_URL;
  for (const name of Object.keys(env)) if (name.startsWith('AUTODEV_')) delete env[name];
  return env;
}

async function runRecorded(args: string[]): Promise<{ code: number | null; stdout: string; log: string }> {
  const { log, nodeArgs } = recordingModules();
  const env = cleanEnv();
  const outcome = await execFileInGroup(process.execPath, [...nodeArgs, AUTODEV_BIN, ...args], {
    env,
    cwd: scratch,
    timeout: 20_000,
  });
  return { code: outcome.code, stdout: outcome.stdout, log };
}

describe('what the autodev command line loads to start', () => {
  it.each([
    ['--version', ['--version'], 0],
    ['--help', ['--help'], 0],
    ['a usage error (an unknown command)', ['no-such-command'], 2],
  ])(
    '%s loads commander and the command definitions only: no driver, query builder, forge, server, pino or zod',
    async (_name, args, exitCode) => {
      const run = await runRecorded(args);
      expect(run.code).toBe(exitCode);
      const packages = loadedPackages(run.log);
      // The hook saw the start: the program module and commander.
      expect(packages).toContain('commander');
      expect(loadedSourceModules(run.log)).toContain('src/cli/program.js');
      expect(matching(packages, HEAVY_PACKAGES)).toEqual([]);
      // No command's implementation (the store's context) was loaded.
      expect(loadedSourceModules(run.log)).not.toContain('src/cli/context.js');
    },
  );

  it('autodev demo with a bad --replay-delay fails before it loads the store, the agent runtime or the server', async () => {
    const dataDir = path.join(scratch, 'demo-never-created');
    const run = await runRecorded(['--data-dir', dataDir, 'demo', '--replay-delay', 'abc']);
    expect(run.code).toBe(2);
    expect(matching(loadedPackages(run.log), NOT_FOR_MCP)).toEqual([]);
    expect(loadedSourceModules(run.log)).not.toContain('src/cli/commands/demo.js');
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('--help still lists every command group whose module it did not load', async () => {
    const run = await runRecorded(['--help']);
    for (const command of ['tasks', 'memory', 'projects', 'logs', 'costs', 'mcp', 'publish', 'secrets', 'swarm']) {
      expect(run.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    }
  });

  it('autodev tasks list on SQLite loads the store without the PostgreSQL driver, the forge clients or the server', async () => {
    const run = await runRecorded(['--data-dir', path.join(scratch, 'data'), 'tasks', 'list']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^no tasks/);
    const packages = loadedPackages(run.log);
    expect(packages).toEqual(expect.arrayContaining(['better-sqlite3', 'kysely']));
    expect(matching(packages, ['pg', '@octokit/', '@gitbeaker/', 'fastify'])).toEqual([]);
  });

  it('autodev mcp answers tools/list without the store, the HTTP server, the forge clients or pino', async () => {
    const sessionDir = await makeSessionDir();
    const { log, nodeArgs } = recordingModules();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [...nodeArgs, AUTODEV_BIN, 'mcp', '--session-dir', sessionDir],
      env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'silent' },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'start-cost-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('submit_result');
    } finally {
      await client.close();
    }
    const packages = loadedPackages(log);
    expect(packages).toContain('@modelcontextprotocol/sdk');
    expect(loadedSourceModules(log)).toContain('src/mcp/session-mcp-server.js');
    expect(matching(packages, NOT_FOR_MCP)).toEqual([]);
    expect(loadedSourceModules(log)).not.toContain('src/cli/context.js');
  });

  it('autodev up starts its server and agents without the AWS SDK, secretlint or pino-pretty', async () => {
    const { log, nodeArgs } = recordingModules();
    const child = spawnInGroup(
      process.execPath,
      [...nodeArgs, AUTODEV_BIN, '--data-dir', path.join(scratch, 'up-data'), 'up', '--port', '0'],
      { env: cleanEnv(), cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('press Ctrl+C to stop')) resolve();
      });
      child.on('exit', () => reject(new Error(`autodev up exited before it was up:\n${stdout}`)));
    });
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/agents: +pm, architect, builder/);
    const packages = loadedPackages(log);
    expect(packages).toEqual(expect.arrayContaining(['fastify', 'better-sqlite3', 'pino']));
    expect(loadedSourceModules(log)).toEqual(
      expect.arrayContaining(['src/secrets/ssm-provider.js', 'src/gates/secret-scan.js', 'src/log.js']),
    );
    expect(matching(packages, LOADED_WHEN_USED)).toEqual([]);
  });
});
