/**
 * @module Test entry for the real-stdio MCP test: `node dist/test/support/mcp-stdio-entry.js --session-dir DIR`,
 * i.e. what `autodev mcp --session-dir DIR` does, without the CLI around it.
 */
import { runMcpStdio } from '../../src/mcp/run-mcp-stdio.js';

const flag = process.argv.indexOf('--session-dir');
const sessionDir = flag === -1 ? undefined : process.argv[flag + 1];

if (!sessionDir) {
  process.stderr.write('usage: mcp-stdio-entry --session-dir DIR\n');
  process.exitCode = 2;
} else {
  runMcpStdio({ sessionDir, version: 'test' }).catch((error: unknown) => {
    process.stderr.write(`mcp-stdio-entry: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
