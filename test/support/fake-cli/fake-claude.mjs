#!/usr/bin/env node
/**
 * @module A fake Claude Code CLI replaying recorded stream-json output, driven by the real Agent SDK exactly as it
 * drives `claude`: JSONL on stdin (control_request initialize, answered with a control_response; then the user
 * message), stream-json lines on stdout, exit 1 after an error result. Scenarios and agent work (MCP calls to the
 * autodev server, file edits): see fake-cli-common.mjs.
 */
/* global process */
import readline from 'node:readline';
import {
  claudeMcpServers,
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
  sleep,
  writePidFile,
} from './fake-cli-common.mjs';

const SESSION_ID = '00000000-fake-4000-8000-c1a0de000001';

function initLine(recorded) {
  const first = recorded?.[0];
  if (first && JSON.parse(first).subtype === 'init') return first;
  return JSON.stringify({
    type: 'system',
    subtype: 'init',
    cwd: process.cwd(),
    session_id: SESSION_ID,
    tools: ['Bash', 'Edit', 'Read', 'Write'],
    mcp_servers: [],
    model: 'claude-sonnet-4-5',
    permissionMode: 'default',
    slash_commands: [],
    apiKeySource: 'ANTHROPIC_API_KEY',
    claude_code_version: '2.1.197',
    output_style: 'default',
    skills: [],
    plugins: [],
    uuid: 'fake-init',
  });
}

/** Assistant messages whose usage passes any sane budget, one API response after another, and never a result. */
function overBudgetLines() {
  const lines = [];
  for (let i = 1; i <= 5; i += 1) {
    lines.push(
      JSON.stringify({
        type: 'assistant',
        message: {
          id: `msg_big${i}`,
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-4-5',
          content: [{ type: 'text', text: `Reading the whole repository again (${i}).` }],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: 400_000,
            output_tokens: 2_000,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
          },
        },
        parent_tool_use_id: null,
        session_id: SESSION_ID,
        uuid: `fake-big-${i}`,
      }),
    );
  }
  return lines;
}

function isErrorResult(line) {
  const message = JSON.parse(line);
  return message.type === 'result' && message.is_error === true;
}

function sessionIdOf(line) {
  return JSON.parse(line).session_id ?? SESSION_ID;
}

/** Prints each MCP call the fake makes as Claude Code does: an assistant tool_use, then a user tool_result. */
function reporter(sessionId) {
  let n = 0;
  return {
    call: (id, tool, input) =>
      printLine(
        JSON.stringify({
          type: 'assistant',
          message: {
            id: `msg_fake_mcp_${++n}`,
            type: 'message',
            role: 'assistant',
            model: 'claude-sonnet-4-5',
            content: [{ type: 'tool_use', id, name: `mcp__autodev__${tool}`, input }],
            stop_reason: null,
            stop_sequence: null,
          },
          parent_tool_use_id: null,
          session_id: sessionId,
          uuid: `fake-mcp-call-${n}`,
        }),
      ),
    result: (id, _tool, text, isError) =>
      printLine(
        JSON.stringify({
          type: 'user',
          message: {
            role: 'user',
            content: [{ tool_use_id: id, type: 'tool_result', content: text, is_error: isError }],
          },
          parent_tool_use_id: null,
          session_id: sessionId,
          uuid: `fake-mcp-result-${n}`,
        }),
      ),
  };
}

async function play(stdinClosed, servers) {
  const recorded = recordingLines();
  writePidFile();
  const init = initLine(recorded);
  const report = reporter(sessionIdOf(init));
  switch (scenario()) {
    case 'hang':
    case 'write-hang':
      if (scenario() === 'write-hang' && !process.env.FAKE_CLI_WRITE) {
        throw new Error('fake-claude: the write-hang scenario needs FAKE_CLI_WRITE');
      }
      await printLine(init);
      await doAgentWork(servers, report);
      return hangForever();
    case 'over-budget':
      await printLine(init);
      await doAgentWork(servers, report);
      for (const line of overBudgetLines()) {
        await sleep(50);
        await printLine(line);
      }
      return hangForever();
    case 'crash': {
      const lines = (recorded ?? [initLine(null)]).filter((line) => JSON.parse(line).type !== 'result');
      await printLines(lines.slice(0, crashAfter()));
      return crash('fake-claude');
    }
    default: {
      if (!recorded) throw new Error('fake-claude: set FAKE_CLI_RECORDING to a stream-json recording');
      // The agent works after the recorded turns and before the final result, as a real session ends.
      const last = recorded.findLastIndex((line) => JSON.parse(line).type === 'result');
      const before = last === -1 ? recorded : recorded.slice(0, last);
      await printLines(before);
      await doAgentWork(servers, report);
      await printLines(last === -1 ? [] : recorded.slice(last));
      // Like the real CLI in --input-format stream-json mode: wait for stdin to close, then exit 1 after an error.
      await stdinClosed;
      process.exit(recorded.some(isErrorResult) ? 1 : 0);
    }
  }
}

function promptOf(message) {
  const content = message.message?.content;
  if (typeof content === 'string') return content;
  return (content ?? []).map((block) => (block.type === 'text' ? block.text : '')).join('\n');
}

const stdin = [];
let started = false;
let closeStdin;
const stdinClosed = new Promise((resolve) => (closeStdin = resolve));
const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
  stdin.push(line);
  const message = JSON.parse(line);
  if (message.type === 'control_request') {
    const response = {
      type: 'control_response',
      response: { subtype: 'success', request_id: message.request_id, response: {} },
    };
    process.stdout.write(`${JSON.stringify(response)}\n`);
  } else if (message.type === 'user' && !started) {
    started = true;
    logCall(stdin);
    const servers = claudeMcpServers(process.argv.slice(2));
    dumpPrompt(promptOf(message), servers.autodev);
    play(stdinClosed, servers).catch((error) => {
      process.stderr.write(`${error.stack ?? error}\n`);
      process.exit(2);
    });
  }
});
input.on('close', () => closeStdin());
