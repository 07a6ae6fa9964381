/**
 * The shipped CLI as a bundle (`npm run build`, after tsc): `dist/cli/autodev.js`, `claude-tasks.js` and
 * `claude-swarm.js`, with each command's code in chunks loaded when the command runs. Every process Auto-Dev starts
 * (a command, `autodev up`, each agent session's `autodev mcp`) loads a few files instead of ~450-800 modules
 * (kysely alone is 262): `autodev tasks list` on SQLite took half the CPU. Packages that find files, workers or
 * binaries of their own at run time, or load a native addon, stay in node_modules and load as they are.
 */
import { defineConfig } from 'rolldown';

const UNBUNDLED = new Set([
  'better-sqlite3', // a native addon
  'pg', // loaded only for PostgreSQL; its optional native binding is looked up at run time
  'pino', // transports run in worker threads that load their files by path
  'pino-pretty',
  '@anthropic-ai/claude-agent-sdk', // finds the Claude Code binary beside its package
  '@openai/codex-sdk', // finds the Codex binary beside its package
  '@aws-sdk/client-ssm', // large, and loaded only for the SSM secret provider
  'secretlint', // loads its rule presets by name
  '@secretlint/core',
  '@secretlint/secretlint-rule-preset-recommend',
]);

function packageOf(id: string): string {
  return id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : id.split('/')[0]!;
}

export default defineConfig({
  input: {
    autodev: 'dist/src/cli/bin/autodev.js',
    'claude-tasks': 'dist/src/cli/bin/claude-tasks.js',
    'claude-swarm': 'dist/src/cli/bin/claude-swarm.js',
  },
  platform: 'node',
  external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0') && UNBUNDLED.has(packageOf(id)),
  output: { dir: 'dist/cli', format: 'esm', cleanDir: true, sourcemap: true },
});
