/**
 * @module `autodev mcp --session-dir DIR`: the stdio MCP server an agent session talks to (read_task, submit_result,
 * create_task, post_discussion). It opens no database and loads no settings: it works on the session directory
 * only, and stdout carries nothing but the protocol.
 */
import path from 'node:path';
import { AutodevError } from '../../errors.js';
import { runMcpStdio } from '../../mcp/run-mcp-stdio.js';
import type { CliDeps } from '../context.js';
import { packageVersion } from '../version.js';

export interface McpArgs {
  sessionDir?: string | undefined;
}

export async function run(args: McpArgs, deps: CliDeps): Promise<number> {
  if (!args.sessionDir) {
    throw new AutodevError('VALIDATION_FAILED', '--session-dir is required (Auto-Dev passes it to agent sessions)');
  }
  await runMcpStdio({ sessionDir: path.resolve(deps.cwd, args.sessionDir), version: packageVersion() });
  return 0;
}
