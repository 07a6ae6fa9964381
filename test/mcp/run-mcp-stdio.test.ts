import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultJsonSchema } from '../../src/agents/result-contracts.js';
import { mcpServerSpec, runMcpStdio } from '../../src/mcp/run-mcp-stdio.js';
import { readSessionResult } from '../../src/mcp/session-files.js';
import { makeSessionContext, makeSessionDir, removeSessionDirs, textOf } from './session-fixtures.js';

afterAll(removeSessionDirs);

/** Built by `npm run build` (which `npm test` runs before vitest). */
const ENTRY = fileURLToPath(new URL('../../dist/test/support/mcp-stdio-entry.js', import.meta.url));

beforeAll(() => {
  if (!fs.existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run "npm run build" first`);
});

function runEntry(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [ENTRY, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end();
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
}

describe('autodev mcp over real stdio', () => {
  it('serves read_task and submit_result to a client that spawned it', async () => {
    const context = makeSessionContext({ result_schema: resultJsonSchema('review_mr') });
    const dir = await makeSessionDir(context);
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [ENTRY, '--session-dir', dir],
      stderr: 'pipe',
    });
    const client = new Client({ name: 'test-agent', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      const submit = tools.find((tool) => tool.name === 'submit_result');
      expect(Object.keys((submit?.inputSchema.properties as object) ?? {})).toEqual(
        expect.arrayContaining(['status', 'summary', 'verdict', 'findings']),
      );

      const task = await client.callTool({ name: 'read_task', arguments: {} });
      expect(task.isError).toBeFalsy();
      const json = (task.content as { text: string }[])[1]?.text ?? '';
      expect(JSON.parse(json)).toMatchObject({ task: context.task, role: 'reviewer' });

      const invalid = await client.callTool({
        name: 'submit_result',
        arguments: { status: 'done', summary: 'Looks good.', verdict: 'maybe', findings: [] },
      });
      expect(invalid.isError).toBe(true);
      expect(textOf(invalid)).toMatch(/review_mr result is invalid: verdict/);
      expect(await readSessionResult(dir)).toBeUndefined();

      const result = { status: 'done', summary: 'Looks good.', verdict: 'approve', findings: [] };
      const valid = await client.callTool({ name: 'submit_result', arguments: result });
      expect(valid.isError).toBeFalsy();
      expect(textOf(valid)).toMatch(/^result recorded/);
      expect(await readSessionResult(dir)).toMatchObject({ task_id: 42, task_type: 'review_mr', result });
    } finally {
      await client.close();
    }
  });

  it('exits 0 when its stdin closes', async () => {
    const dir = await makeSessionDir();
    const started = Date.now();
    expect(await runEntry(['--session-dir', dir])).toEqual({ code: 0, stderr: '' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('exits non-zero with a readable line when the session directory was not prepared', async () => {
    const dir = await makeSessionDir(null);
    const { code, stderr } = await runEntry(['--session-dir', dir]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/context\.json does not exist: the session directory was not prepared\n$/);
  });
});

describe('runMcpStdio', () => {
  it('answers on the given streams and resolves when its input ends', async () => {
    const dir = await makeSessionDir();
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let output = '';
    stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let resolved = false;
    const running = runMcpStdio({ sessionDir: dir, stdin, stdout }).then(() => (resolved = true));

    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    };
    stdin.write(`${JSON.stringify(initialize)}\n`);
    await expect.poll(() => output).toContain('"serverInfo":{"name":"autodev"');
    expect(resolved).toBe(false);

    stdin.end();
    await running;
    expect(resolved).toBe(true);
  });
});

describe('mcpServerSpec', () => {
  it('describes `node <cli> mcp --session-dir <dir>` with absolute paths and no environment', () => {
    expect(
      mcpServerSpec({ nodePath: '/usr/bin/node', cliEntry: '/app/dist/cli/autodev.js', sessionDir: '/tmp/s1' }),
    ).toEqual({
      command: '/usr/bin/node',
      args: ['/app/dist/cli/autodev.js', 'mcp', '--session-dir', '/tmp/s1'],
      env: {},
    });
    const relative = mcpServerSpec({ nodePath: 'node', cliEntry: 'dist/cli.js', sessionDir: 'sessions/7' });
    expect(relative.args[0]).toBe(`${process.cwd()}/dist/cli.js`);
    expect(relative.args[3]).toBe(`${process.cwd()}/sessions/7`);
  });
});
