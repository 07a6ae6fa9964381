/**
 * @module `autodev mcp --session-dir DIR`: serves a session's MCP tools over stdio with the real validators, and the
 * stdio server description providers put in a session's MCP config. Parsing argv and exiting are left to the CLI.
 */
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { validateResult } from '../agents/result-contracts.js';
import { isTaskType } from '../domain/roles.js';
import { validateNewTask } from '../queue/enqueue-task.js';
import { createSessionMcpServer, type ResultValidator } from './session-mcp-server.js';

export interface RunMcpStdioOptions {
  sessionDir: string;
  /** Defaults to the process's stdin/stdout. Stdout carries only the protocol: nothing else may write to it. */
  stdin?: Readable;
  stdout?: Writable;
  /** Reported in the MCP handshake, e.g. `packageVersion()`. */
  version?: string;
  /** Protocol and transport errors (a malformed message, a broken pipe); defaults to one line on stderr. */
  onError?: (error: Error) => void;
}

/** `validateResult` from the result contracts, for a task type given as a plain string. */
export const checkResult: ResultValidator = (taskType, value) =>
  isTaskType(taskType)
    ? validateResult(taskType, value)
    : { ok: false, reason: `no result contract for task type "${taskType}"` };

/**
 * Serves the session's tools on stdin/stdout until stdin closes (the agent CLI ended the session), then resolves.
 * Throws before serving if the session directory has no valid `context.json`.
 *
 * ### Examples
 * ```ts
 * await runMcpStdio({ sessionDir: '/tmp/autodev-session-42' });
 * ```
 */
export async function runMcpStdio(options: RunMcpStdioOptions): Promise<void> {
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const server = createSessionMcpServer({
    sessionDir: options.sessionDir,
    validateResult: checkResult,
    validateNewTask,
    version: options.version,
  });
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  server.server.onerror =
    options.onError ?? ((error: Error) => void process.stderr.write(`autodev mcp: ${error.message}\n`));
  // The SDK's stdio transport does not notice the end of its input; closing the server here ends the session.
  const closeServer = () => void server.close();
  stdin.once('end', closeServer);
  stdin.once('close', closeServer);
  try {
    await server.connect(new StdioServerTransport(stdin, stdout));
    await closed;
  } finally {
    stdin.off('end', closeServer);
    stdin.off('close', closeServer);
  }
}

/** A stdio MCP server as Claude Code (`mcpServers`) and Codex (`mcp_servers`) configure one. */
export interface McpStdioServerSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * The entry for a session's MCP config: `node <cliEntry> mcp --session-dir <dir>`. Paths are made absolute because
 * the agent CLI starts the server from its own working directory. `env` is empty by default: the server needs no
 * credentials and no database, only the session directory.
 *
 * ### Examples
 * ```ts
 * mcpServerSpec({ nodePath: process.execPath, cliEntry: 'dist/cli/autodev.js', sessionDir: dir });
 * // -> { command: '/usr/bin/node', args: ['/app/dist/cli/autodev.js', 'mcp', '--session-dir', dir], env: {} }
 * ```
 */
export function mcpServerSpec(options: {
  nodePath: string;
  cliEntry: string;
  sessionDir: string;
  env?: Record<string, string>;
}): McpStdioServerSpec {
  return {
    command: options.nodePath,
    args: [path.resolve(options.cliEntry), 'mcp', '--session-dir', path.resolve(options.sessionDir)],
    env: { ...options.env },
  };
}
