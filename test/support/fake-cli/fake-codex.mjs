#!/usr/bin/env node
/**
 * @module A fake Codex CLI replaying recorded `exec --json` output, driven by the real Codex SDK exactly as it drives
 * `codex`: `exec --experimental-json [flags] [resume <id>]`, the prompt on stdin (then closed), JSONL events on
 * stdout, exit 1 after `turn.failed`. Scenarios: see fake-cli-common.mjs (over-budget is Claude-only: Codex reports
 * tokens only when the turn ends). Agent work (MCP calls to the autodev server, file edits): see fake-cli-common.mjs.
 */
/* global process, Buffer */
import {
  codexMcpServers,
  crash,
  crashAfter,
  doAgentWork,
  dumpPrompt,
  hangForever,
  logCall,
  printLine,
  printLines,
  recordingLines,
  scenario,
  writePidFile,
} from './fake-cli-common.mjs';

const THREAD_ID = '00000000-fake-7000-8000-c0de00000001';

function readStdin() {
  return new Promise((resolve) => {
    const chunks = [];
    process.stdin.on('data', (chunk) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function failure(lines) {
  for (const line of lines) {
    const event = JSON.parse(line);
    if (event.type === 'turn.failed') return event.error?.message ?? 'turn failed';
  }
  return null;
}

/** Prints each MCP call the fake makes as Codex does: an mcp_tool_call item, started then completed. */
function reporter() {
  const pending = new Map();
  const item = (id, tool, args, extra) => ({
    id,
    type: 'mcp_tool_call',
    server: 'autodev',
    tool,
    arguments: args,
    ...extra,
  });
  return {
    call: (id, tool, args) => {
      pending.set(id, args);
      return printLine(JSON.stringify({ type: 'item.started', item: item(id, tool, args, { status: 'in_progress' }) }));
    },
    result: (id, tool, text, isError) => {
      const done = isError
        ? { status: 'failed', error: { message: text } }
        : { status: 'completed', result: { content: [{ type: 'text', text }], structured_content: null } };
      return printLine(JSON.stringify({ type: 'item.completed', item: item(id, tool, pending.get(id), done) }));
    },
  };
}

function isTurnEnd(line) {
  const type = JSON.parse(line).type;
  return type === 'turn.completed' || type === 'turn.failed';
}

async function main() {
  writePidFile();
  if (process.argv[2] !== 'exec' || process.argv[3] !== '--experimental-json') {
    process.stderr.write(`fake-codex: expected "exec --experimental-json", got ${process.argv.slice(2).join(' ')}\n`);
    process.exit(2);
  }
  const prompt = await readStdin();
  logCall([prompt]);
  const servers = codexMcpServers(process.argv.slice(2));
  dumpPrompt(prompt, servers.autodev);
  const report = reporter();
  const recorded = recordingLines();
  const started = [
    JSON.stringify({ type: 'thread.started', thread_id: THREAD_ID }),
    JSON.stringify({ type: 'turn.started' }),
  ];
  switch (scenario()) {
    case 'hang':
    case 'write-hang':
      if (scenario() === 'write-hang' && !process.env.FAKE_CLI_WRITE) {
        throw new Error('fake-codex: the write-hang scenario needs FAKE_CLI_WRITE');
      }
      await printLines(recorded ? recorded.slice(0, 2) : started);
      await doAgentWork(servers, report);
      return hangForever();
    case 'crash': {
      const lines = (recorded ?? started).filter((line) => !JSON.parse(line).type.startsWith('turn.'));
      await printLines(lines.slice(0, crashAfter()));
      return crash('fake-codex');
    }
    default: {
      if (!recorded) throw new Error('fake-codex: set FAKE_CLI_RECORDING to an exec --json recording');
      // The agent works after the recorded items and before the turn ends, as a real turn does.
      const end = recorded.findLastIndex(isTurnEnd);
      await printLines(end === -1 ? recorded : recorded.slice(0, end));
      await doAgentWork(servers, report);
      await printLines(end === -1 ? [] : recorded.slice(end));
      const failed = failure(recorded);
      if (failed) {
        process.stderr.write(`Error: ${failed}\n`);
        process.exit(1);
      }
      process.exit(0);
    }
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(2);
});
