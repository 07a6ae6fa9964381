/**
 * @module Shared plumbing of the fake agent CLIs: which scenario to play (environment variables below), recording
 * files, pacing, and a log of how the fake was called so tests can check the flags the SDKs passed.
 *
 * FAKE_CLI_SCENARIO   replay (default) | crash | hang | over-budget | slow | write-hang | escape
 *   write-hang: like hang, after doing the agent work below (FAKE_CLI_WRITE required): files written, then no end.
 *   escape: like replay, but first tries to leave the sandbox (FAKE_CLI_ESCAPE_WRITE / _READ) and writes what it saw,
 *   its whole environment included, to `escape-report.json` in its working directory.
 * FAKE_CLI_RECORDING  JSONL file of recorded CLI output to play (replay, crash, slow; hang uses its first line)
 * FAKE_CLI_LINE_DELAY_MS  pause before each line (slow defaults to 250)
 * FAKE_CLI_CRASH_AFTER    lines printed before a crash (default 3)
 * FAKE_CLI_PID_FILE   the fake writes its pid here (tests check the process is gone after an abort)
 * FAKE_CLI_LOG_FILE   the fake appends one JSON line: { argv, cwd, stdin, env } (env: names only)
 *
 * Agent work, done like a real agent: after the recorded lines and before the final result line (hang, write-hang and
 * over-budget: right after the first line). It writes its files, then starts the `autodev` MCP server it was
 * configured with (Claude's --mcp-config, Codex's mcp_servers config), connects as an MCP client, calls read_task,
 * then create_task / post_discussion and submit_result:
 * FAKE_CLI_WRITE      JSON {path: content}: files written into its working directory (simulated edits)
 * FAKE_CLI_OUTBOX     JSON array of {tool: "create_task" | "post_discussion", arguments: {...}}, called in order
 * FAKE_CLI_SUBMIT     JSON result passed to submit_result
 * FAKE_CLI_SUBMIT_DIRECT  1: also write that result straight into <session-dir>/result.json, bypassing the tool's
 *                     validation (an agent writing the runner's files itself; the runner must not trust them)
 * FAKE_CLI_BY_TYPE   JSON {taskType: {write?, outbox?, submit?}}: for a task of that type (context.json's
 *                     task.type), these replace FAKE_CLI_WRITE / _OUTBOX / _SUBMIT (one config playing every role)
 * In all of these, strings may contain {{task_id}}, {{attempt}}, {{branch}} and {{session_dir}} (from the session's
 * context.json, the file read_task serves).
 * Each MCP call is also printed as the CLI would (tool_use + tool_result / mcp_tool_call items).
 * FAKE_CLI_PROMPT_FILE  the prompt the fake received is written here; a relative path is inside the session dir
 *                     (the `--session-dir` of the autodev MCP server), which stays writable in the sandbox
 * FAKE_CLI_ESCAPE_WRITE / FAKE_CLI_ESCAPE_READ  JSON arrays of paths the escape scenario tries to write/read
 *                     (relative ones: in its working directory)
 * FAKE_CLI_ESCAPE_REPORT  where the escape scenario writes its report (default `escape-report.json` in its working
 *                     directory; a relative path given here is inside the session dir, for read-only checkouts)
 */
/* global process, setTimeout, setInterval */
import fs from 'node:fs';
import path from 'node:path';

export function scenario() {
  return process.env.FAKE_CLI_SCENARIO || 'replay';
}

export function recordingLines() {
  const file = process.env.FAKE_CLI_RECORDING;
  if (!file) return null;
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

export function lineDelayMs() {
  const configured = process.env.FAKE_CLI_LINE_DELAY_MS;
  if (configured) return Number(configured);
  return scenario() === 'slow' ? 250 : 0;
}

export function crashAfter() {
  return Number(process.env.FAKE_CLI_CRASH_AFTER || 3);
}

export function writePidFile() {
  if (process.env.FAKE_CLI_PID_FILE) fs.writeFileSync(process.env.FAKE_CLI_PID_FILE, String(process.pid));
}

export function logCall(stdin) {
  if (!process.env.FAKE_CLI_LOG_FILE) return;
  const entry = { argv: process.argv.slice(2), cwd: process.cwd(), stdin, env: Object.keys(process.env).sort() };
  fs.appendFileSync(process.env.FAKE_CLI_LOG_FILE, `${JSON.stringify(entry)}\n`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes one line to stdout and waits until it is flushed. */
export function printLine(line) {
  return new Promise((resolve) => {
    if (process.stdout.write(`${line}\n`)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

export async function printLines(lines) {
  const delay = lineDelayMs();
  for (const line of lines) {
    if (delay > 0) await sleep(delay);
    await printLine(line);
  }
}

/** Never returns: the process stays alive until it is killed. */
export function hangForever() {
  setInterval(() => {}, 1 << 30);
  return new Promise(() => {});
}

export async function crash(name) {
  process.stderr.write(`${name}: simulated crash: the agent process died unexpectedly\n`);
  await sleep(20);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------------------------------
// The agent's work through the autodev MCP server

export const MCP_SERVER_NAME = 'autodev';

function jsonEnv(name) {
  const raw = process.env[name];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw new Error(`${name} is not valid JSON: ${error.message}`);
  }
}

/** The stdio MCP servers Claude Code was given: `--mcp-config JSON` or `--mcp-config=JSON` (a file path also works). */
export function claudeMcpServers(argv) {
  const servers = {};
  argv.forEach((arg, index) => {
    let value;
    if (arg === '--mcp-config') value = argv[index + 1];
    else if (arg.startsWith('--mcp-config=')) value = arg.slice('--mcp-config='.length);
    if (value === undefined) return;
    const text = value.trim().startsWith('{') ? value : fs.readFileSync(value, 'utf8');
    Object.assign(servers, JSON.parse(text).mcpServers ?? {});
  });
  return servers;
}

/** The MCP servers Codex was given as `--config mcp_servers.NAME.KEY=VALUE` (values are TOML; JSON for ours). */
export function codexMcpServers(argv) {
  const servers = {};
  argv.forEach((arg, index) => {
    const setting = arg === '--config' || arg === '-c' ? argv[index + 1] : undefined;
    const match = setting?.match(/^mcp_servers\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_.-]+)=(.*)$/s);
    if (!match) return;
    const [, name, key, raw] = match;
    const server = (servers[name] ??= {});
    let value;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw === '{}' ? {} : raw;
    }
    const keys = key.split('.');
    let target = server;
    for (const part of keys.slice(0, -1)) target = target[part] ??= {};
    target[keys.at(-1)] = value;
  });
  return servers;
}

/** The session directory the autodev MCP server serves (`--session-dir DIR` in its args), if any. */
export function sessionDirOf(server) {
  const args = server?.args ?? [];
  const index = args.indexOf('--session-dir');
  return index === -1 ? undefined : args[index + 1];
}

/** Writes the prompt the fake received where FAKE_CLI_PROMPT_FILE says (relative: inside the session dir). */
export function dumpPrompt(prompt, server) {
  const target = process.env.FAKE_CLI_PROMPT_FILE;
  if (!target) return;
  const dir = sessionDirOf(server);
  const file = path.isAbsolute(target) ? target : path.join(dir ?? process.cwd(), target);
  fs.writeFileSync(file, prompt);
}

function fill(value, vars) {
  if (typeof value === 'string') return value.replace(/\{\{(\w+)\}\}/g, (whole, name) => vars[name] ?? whole);
  if (Array.isArray(value)) return value.map((item) => fill(item, vars));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [fill(key, vars), fill(item, vars)]));
  }
  return value;
}

function textOf(result) {
  return (result.content ?? []).map((block) => (block.type === 'text' ? block.text : `[${block.type}]`)).join('\n');
}

/** Tries to leave the sandbox; reports what worked (nothing should) and the whole environment. */
function tryToEscape(cwd, sessionDir) {
  const home = process.env.HOME ?? '/root';
  const writeTargets = (
    jsonEnv('FAKE_CLI_ESCAPE_WRITE') ?? ['/etc/autodev-escape-test', path.join(home, 'autodev-escape-test')]
  ).map((target) => path.resolve(cwd, target));
  const readTargets = (jsonEnv('FAKE_CLI_ESCAPE_READ') ?? []).map((target) => path.resolve(cwd, target));
  const attempt = (work) => {
    try {
      return { ok: true, ...work() };
    } catch (error) {
      return { ok: false, error: `${error.code ?? ''} ${error.message}`.trim() };
    }
  };
  const report = {
    writes: writeTargets.map((target) => ({
      path: target,
      ...attempt(() => (fs.writeFileSync(target, 'escaped from the sandbox\n'), {})),
    })),
    reads: readTargets.map((target) => ({
      path: target,
      ...attempt(() => ({ content: fs.readFileSync(target, 'utf8') })),
    })),
    env: { ...process.env },
  };
  const target = process.env.FAKE_CLI_ESCAPE_REPORT;
  const file = target ? path.resolve(sessionDir ?? cwd, target) : path.join(cwd, 'escape-report.json');
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

/** True when the environment asks the fake to do any agent work (so plain replays never start an MCP server). */
export function hasAgentWork() {
  return (
    ['FAKE_CLI_WRITE', 'FAKE_CLI_OUTBOX', 'FAKE_CLI_SUBMIT', 'FAKE_CLI_BY_TYPE'].some((name) =>
      Boolean(process.env[name]),
    ) || scenario() === 'escape'
  );
}

/**
 * Does what a real agent does through the autodev MCP server (see the module comment). `report` prints each call the
 * way the CLI would: `report.call(id, tool, input)` and `report.result(id, tool, text, isError)`.
 */
export async function doAgentWork(servers, report) {
  if (!hasAgentWork()) return;
  const cwd = process.cwd();
  const server = servers[MCP_SERVER_NAME];
  const sessionDir = sessionDirOf(server);
  if (scenario() === 'escape') tryToEscape(cwd, sessionDir);
  // The edits come first, with the placeholders read from the session's context.json (readable in the sandbox), so
  // they land within a second of the start even when the MCP server is slow to come up on a loaded machine.
  const context = sessionDir ? JSON.parse(fs.readFileSync(path.join(sessionDir, 'context.json'), 'utf8')) : {};
  const vars = {
    session_dir: sessionDir ?? '',
    task_id: String(context.task?.id ?? ''),
    attempt: String(context.task?.attempts ?? ''),
    branch: context.branch ?? '',
  };
  const byType = jsonEnv('FAKE_CLI_BY_TYPE')?.[context.task?.type] ?? {};
  const work = (key, name) => (key in byType ? byType[key] : jsonEnv(name));
  for (const [file, content] of Object.entries(fill(work('write', 'FAKE_CLI_WRITE') ?? {}, vars))) {
    const target = path.resolve(cwd, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  }
  const outbox = fill(work('outbox', 'FAKE_CLI_OUTBOX') ?? [], vars);
  const submit = fill(work('submit', 'FAKE_CLI_SUBMIT'), vars);
  if (outbox.length === 0 && submit === undefined) return;
  if (!server)
    throw new Error(`FAKE_CLI_OUTBOX / FAKE_CLI_SUBMIT need the ${MCP_SERVER_NAME} MCP server in the CLI's config`);

  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StdioClientTransport } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  const client = new Client({ name: 'fake-agent-cli', version: '1.0.0' });
  let calls = 0;
  const call = async (tool, args) => {
    const id = `fake_mcp_${++calls}`;
    await report.call(id, tool, args);
    const result = await client.callTool({ name: tool, arguments: args });
    await report.result(id, tool, textOf(result), result.isError === true);
    return result;
  };
  await client.connect(
    new StdioClientTransport({ command: server.command, args: server.args ?? [], env: server.env, stderr: 'inherit' }),
  );
  try {
    // Like a real agent: read the task first, then queue follow-ups, then submit.
    const task = await call('read_task', {});
    if (task.isError) throw new Error(`read_task failed: ${textOf(task)}`);
    for (const entry of outbox) await call(entry.tool, entry.arguments ?? {});
    if (submit !== undefined) {
      await call('submit_result', submit);
      if (process.env.FAKE_CLI_SUBMIT_DIRECT === '1') {
        const direct = {
          task_id: context.task.id,
          task_type: context.task.type,
          submitted_at: new Date().toISOString(),
        };
        fs.writeFileSync(path.join(sessionDir, 'result.json'), JSON.stringify({ ...direct, result: submit }));
      }
    }
  } finally {
    await client.close();
  }
}
