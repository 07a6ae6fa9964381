/**
 * @module Fixtures for the MCP tests: a valid session context, throwaway session directories, and a connected
 * in-memory client/server pair.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { writeSessionContext, type SessionContext } from '../../src/mcp/session-files.js';
import { createSessionMcpServer, type SessionMcpServerOptions } from '../../src/mcp/session-mcp-server.js';
import { validateNewTask } from '../../src/queue/enqueue-task.js';

/** A small result schema, standing in for a task type's real one. */
export const TEST_RESULT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  description: 'A review with a verdict.',
  properties: {
    summary: { type: 'string', minLength: 1 },
    verdict: { type: 'string', enum: ['approve', 'request_changes'] },
  },
  required: ['summary', 'verdict'],
  additionalProperties: false,
};

export function makeSessionContext(overrides: Partial<SessionContext> = {}): SessionContext {
  return {
    task: { id: 42, type: 'review_mr', priority: 7, payload: { mr: 3, title: 'Add login' }, attempts: 1 },
    role: 'reviewer',
    repo: { name: 'shop', default_branch: 'main' },
    branch: 'autodev/review-42',
    parent_results: [{ task_id: 41, type: 'implement_feature', result: { status: 'done', summary: 'Added login.' } }],
    instructions: ['Be strict about error handling.'],
    result_schema: TEST_RESULT_SCHEMA,
    ...overrides,
  };
}

const createdDirs: string[] = [];

/** A fresh session directory holding `context` as its context.json (none when `null`). */
export async function makeSessionDir(context: SessionContext | null = makeSessionContext()): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autodev-mcp-test-'));
  createdDirs.push(dir);
  if (context) await writeSessionContext(dir, context);
  return dir;
}

/** Removes every directory `makeSessionDir` made; call it from `afterAll`. */
export async function removeSessionDirs(): Promise<void> {
  await Promise.all(createdDirs.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
}

/** Accepts `{summary: non-empty string, verdict: approve|request_changes}` and names what is wrong otherwise. */
export const fakeValidateResult: SessionMcpServerOptions['validateResult'] = (_taskType, value) => {
  const result = value as { summary?: unknown; verdict?: unknown };
  const problems: string[] = [];
  if (typeof result.summary !== 'string' || result.summary === '') problems.push('summary: required');
  if (result.verdict !== 'approve' && result.verdict !== 'request_changes') {
    problems.push('verdict: must be "approve" or "request_changes"');
  }
  return problems.length === 0
    ? { ok: true, result: { summary: result.summary, verdict: result.verdict } }
    : { ok: false, reason: `review_mr result is invalid: ${problems.join('; ')}` };
};

export async function connectClient(
  sessionDir: string,
  overrides: Partial<SessionMcpServerOptions> = {},
): Promise<{ client: Client; close: () => Promise<void> }> {
  const server = createSessionMcpServer({
    sessionDir,
    validateResult: fakeValidateResult,
    validateNewTask,
    now: () => new Date('2025-03-01T12:00:00.000Z'),
    ...overrides,
  });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await Promise.all([server.connect(serverTransport), client.connect(clientTransport)]);
  return {
    client,
    close: async () => {
      await client.close();
      await server.close();
    },
  };
}

/** The text of a tool result's content, joined. */
export function textOf(result: unknown): string {
  return (result as CallToolResult).content
    .map((item) => (item.type === 'text' ? item.text : `[${item.type}]`))
    .join('\n');
}
