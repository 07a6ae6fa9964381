/**
 * @module The scripted-agent stand-ins on their own: requests shaped like the ones the real Claude Code 2.1 and Codex
 * 0.169 CLIs send (logged from the binaries; see scripted-claude.ts / scripted-codex.ts) get the scripted step, MCP
 * steps go through the CLI's deferred-tool search first, each session's step comes from its own conversation, and a
 * tool result that misses its expectation is recorded as a failure.
 */
import { describe, expect, it } from 'vitest';
import type { MessagesRequest } from '../../src/demo/scripted-model-server.js';
import type { ResponsesRequest } from '../support/mock-responses-server.js';
import { promptFacts, ScriptedAgents, turnTimings, type AgentStep } from '../../src/demo/scripted-agent.js';
import { scriptedClaude } from '../../src/demo/scripted-claude.js';
import { scriptedCodex } from '../support/scripted-codex.js';

const PROMPT = [
  '# You are the Auto-Dev Reviewer agent',
  '## Task',
  '',
  '- Id: 7',
  '- Type: review_mr (A code review of the merge request with a verdict.)',
  '- Your worktree: /w/task-7',
  '- Your checkout is read-only: inspect, do not modify.',
].join('\n');

const SCRIPT: AgentStep[] = [
  { mcp: { tool: 'read_task', input: {} } },
  { bash: 'git diff', expect: { exitCode: 0 } },
  { write: { path: 'notes.txt', content: 'a\nb\n' } },
  { mcp: { tool: 'submit_result', input: (c) => ({ seen: c.results.length }) } },
];

function agentsFor(script = SCRIPT, times: number[] = []) {
  let clock = 1000;
  const now = () => {
    clock += 10;
    times.push(clock);
    return clock;
  };
  const agents = new ScriptedAgents(() => script);
  return { agents, claude: scriptedClaude(agents, now), codex: scriptedCodex(agents, now) };
}

describe('prompt facts', () => {
  it('reads the role, task, worktree and read-only flag Auto-Dev rendered', () => {
    expect(promptFacts(PROMPT)).toEqual({
      roleTitle: 'Reviewer',
      taskId: 7,
      taskType: 'review_mr',
      worktree: '/w/task-7',
      readOnly: true,
    });
  });
});

describe('Claude Code stand-in (Messages API)', () => {
  const reminder = (text: string) => ({ type: 'text', text: `<system-reminder>\n${text}\n</system-reminder>` });
  const first = {
    role: 'user',
    content: [reminder('Primary working directory: /w/task-7'), { type: 'text', text: PROMPT }],
  };
  const tools = (...mcp: string[]) => [{ name: 'Bash' }, { name: 'ToolSearch' }, ...mcp.map((name) => ({ name }))];
  const request = (session: string, messages: unknown[], loaded: string[] = []): MessagesRequest => ({
    metadata: { user_id: JSON.stringify({ session_id: session }) },
    tools: tools(...loaded),
    messages: [first, ...(messages as MessagesRequest['messages'] & object)],
  });
  const use = (id: string, name: string, input: unknown = {}) => ({
    role: 'assistant',
    content: [{ type: 'tool_use', id, name, input }],
  });
  const result = (id: string, content: unknown, isError = false) => ({
    role: 'user',
    content: [{ type: 'tool_result', tool_use_id: id, content, is_error: isError }],
  });

  it('loads an MCP tool with ToolSearch before calling it, then plays the steps in order', () => {
    const { agents, claude } = agentsFor();
    expect(claude(request('s1', []), 0)).toEqual({
      kind: 'tool_use',
      id: 'toolu_search0',
      name: 'ToolSearch',
      input: { query: 'select:mcp__autodev__read_task', max_results: 5 },
    });
    const searched = [
      use('toolu_search0', 'ToolSearch'),
      result('toolu_search0', [{ type: 'tool_reference', tool_name: 'mcp__autodev__read_task' }]),
    ];
    const loaded = ['mcp__autodev__read_task'];
    expect(claude(request('s1', searched, loaded), 1)).toMatchObject({ name: 'mcp__autodev__read_task', input: {} });
    const afterRead = [...searched, use('toolu_s0', 'mcp__autodev__read_task'), result('toolu_s0', 'task')];
    expect(claude(request('s1', afterRead, loaded), 2)).toMatchObject({
      name: 'Bash',
      input: { command: 'git diff' },
    });
    const afterDiff = [...afterRead, use('toolu_s1', 'Bash'), result('toolu_s1', 'Exit code 2\nfatal: bad', true)];
    expect(claude(request('s1', afterDiff, loaded), 3)).toMatchObject({
      name: 'Write',
      input: { file_path: '/w/task-7/notes.txt', content: 'a\nb\n' },
    });
    expect(agents.failures).toEqual([
      { provider: 'claude', session: 's1', step: 1, message: expect.stringContaining('expected exit code 0') },
    ]);
    // Another session, in the same stand-in, starts at its own beginning.
    expect(claude(request('s2', []), 0)).toMatchObject({ name: 'ToolSearch' });
    // The dynamic input sees the earlier results; the end of the script is a final text.
    const afterWrite = [...afterDiff, use('toolu_s2', 'Write'), result('toolu_s2', 'written')];
    const all = [...loaded, 'mcp__autodev__submit_result'];
    expect(claude(request('s1', afterWrite, all), 4)).toMatchObject({
      name: 'mcp__autodev__submit_result',
      input: { seen: 3 },
    });
    const done = [...afterWrite, use('toolu_s3', 'mcp__autodev__submit_result'), result('toolu_s3', 'recorded')];
    expect(claude(request('s1', done, all), 5)).toEqual({ kind: 'text', text: 'Done.' });
    expect(agents.failures).toHaveLength(1);
  });

  it('a resumed conversation with a new task prompt (a retry) plays the script again from its start, with new ids', () => {
    const { agents, claude } = agentsFor();
    const loaded = ['mcp__autodev__read_task', 'mcp__autodev__submit_result'];
    const earlier = [
      use('toolu_s0', 'mcp__autodev__read_task'),
      result('toolu_s0', 'task'),
      use('toolu_s1', 'Bash'),
      // The kill came mid-call: the resumed conversation answers it in the message with the new prompt.
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_s1', content: 'interrupted', is_error: true },
          { type: 'text', text: `${PROMPT}\n- Attempt: 2 of 3` },
        ],
      },
      // Texts the CLI adds after the prompt are not a new prompt.
      {
        role: 'user',
        content: [{ type: 'text', text: 'Continue from where you left off.' }],
      },
    ];
    expect(claude(request('s4', earlier, loaded), 2)).toMatchObject({
      name: 'mcp__autodev__read_task',
      id: 'toolu_p4_s0',
    });
    const again = [...earlier, use('toolu_p4_s0', 'mcp__autodev__read_task'), result('toolu_p4_s0', 'task')];
    expect(claude(request('s4', again, loaded), 3)).toMatchObject({ name: 'Bash', id: 'toolu_p4_s1' });
    expect(agents.failures).toEqual([]);
  });

  it('records a failure when ToolSearch did not load the tool, instead of searching forever', () => {
    const { agents, claude } = agentsFor();
    const searched = [use('toolu_search0', 'ToolSearch'), result('toolu_search0', 'No matching deferred tools found')];
    expect(claude(request('s3', searched), 1)).toMatchObject({ kind: 'text' });
    expect(agents.failures).toEqual([expect.objectContaining({ session: 's3', step: 0 })]);
  });
});

describe('Codex stand-in (Responses API)', () => {
  const base = [
    { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'You are Codex' }] },
    {
      type: 'message',
      role: 'user',
      content: [{ type: 'input_text', text: '<environment_context>\n  <cwd>/w/task-7</cwd>\n</environment_context>' }],
    },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: PROMPT }] },
  ];
  const request = (session: string, input: unknown[]): ResponsesRequest => ({
    prompt_cache_key: session,
    tools: [{ type: 'function', name: 'exec_command' }, { type: 'tool_search' }],
    input: [...base, ...(input as ResponsesRequest['input'] & object)],
  });
  const namespace = {
    type: 'namespace',
    name: 'mcp__autodev',
    tools: [
      { type: 'function', name: 'read_task' },
      { type: 'function', name: 'submit_result' },
    ],
  };

  it('searches the mcp__autodev namespace once, calls MCP tools by namespace, and checks exit codes', () => {
    const times: number[] = [];
    const { agents, codex } = agentsFor(SCRIPT, times);
    expect(codex(request('t1', []), 0)).toMatchObject({
      type: 'tool_search_call',
      call_id: 'call_search0',
      execution: 'client',
      arguments: { query: 'autodev read_task', limit: 8 },
    });
    const searched = [
      { type: 'tool_search_call', call_id: 'call_search0', execution: 'client', arguments: {} },
      { type: 'tool_search_output', call_id: 'call_search0', execution: 'client', tools: [namespace] },
    ];
    expect(codex(request('t1', searched), 0)).toMatchObject({
      type: 'function_call',
      namespace: 'mcp__autodev',
      name: 'read_task',
      call_id: 'call_s0',
      arguments: '{}',
    });
    const afterRead = [
      ...searched,
      { type: 'function_call', call_id: 'call_s0', namespace: 'mcp__autodev', name: 'read_task' },
      {
        type: 'function_call_output',
        call_id: 'call_s0',
        output: [{ type: 'input_text', text: 'Wall time: 0\nOutput:' }],
      },
    ];
    expect(codex(request('t1', afterRead), 1)).toMatchObject({
      type: 'function_call',
      name: 'exec_command',
      arguments: JSON.stringify({ cmd: 'git diff', tty: false, yield_time_ms: 10_000 }),
    });
    const afterDiff = [
      ...afterRead,
      { type: 'function_call', call_id: 'call_s1', name: 'exec_command' },
      { type: 'function_call_output', call_id: 'call_s1', output: 'Process exited with code 1\nOutput:\nfatal: no\n' },
    ];
    expect(codex(request('t1', afterDiff), 2)).toMatchObject({
      type: 'custom_tool_call',
      name: 'apply_patch',
      input: '*** Begin Patch\n*** Add File: notes.txt\n+a\n+b\n*** End Patch\n',
    });
    expect(agents.failures).toEqual([
      { provider: 'codex', session: 't1', step: 1, message: expect.stringContaining('got error exit 1') },
    ]);
    const afterWrite = [
      ...afterDiff,
      { type: 'custom_tool_call', call_id: 'call_s2', name: 'apply_patch' },
      { type: 'custom_tool_call_output', call_id: 'call_s2', output: 'Exit code: 0\nOutput:\nSuccess.' },
    ];
    // The namespace found at the start serves every later MCP call: no second search.
    expect(codex(request('t1', afterWrite), 3)).toMatchObject({ name: 'submit_result', arguments: '{"seen":3}' });
    const session = agents.allSessions().find((s) => s.session === 't1')!;
    expect(session.turns.map((turn) => turn.answered)).toEqual(['tool_search', 'mcp', 'bash', 'write', 'mcp']);
    expect(turnTimings(session)).toEqual({
      requests: 5,
      firstRequestAt: times[0],
      lastRequestAt: times[4],
      afterAnswerMs: { tool_search: 10, mcp: 10, bash: 10, write: 10 },
    });
  });

  it('a prompt with no script gets a final message and a recorded failure', () => {
    const agents = new ScriptedAgents(() => {
      throw new Error('unknown task type');
    });
    expect(scriptedCodex(agents)(request('t2', []), 0)).toMatchObject({ type: 'message' });
    expect(agents.failures).toEqual([expect.objectContaining({ message: expect.stringContaining('unknown task') })]);
  });
});

describe('read and stall steps', () => {
  const SCRIPT_READ_STALL: AgentStep[] = [{ read: 'src/a.js' }, { stall: true }];
  const claudeRequest = (messages: unknown[]): MessagesRequest => ({
    metadata: { user_id: JSON.stringify({ session_id: 'r1' }) },
    tools: [{ name: 'Read' }],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>\nPrimary working directory: /w/task-7\n</system-reminder>' },
          { type: 'text', text: PROMPT },
        ],
      },
      ...(messages as { role: string; content: unknown }[]),
    ],
  });

  it('Claude Code reads with its Read tool, then the stand-in stalls; the session records a fresh start', () => {
    const agents = new ScriptedAgents(() => SCRIPT_READ_STALL);
    const claude = scriptedClaude(agents);
    expect(claude(claudeRequest([]), 0)).toMatchObject({ name: 'Read', input: { file_path: '/w/task-7/src/a.js' } });
    const afterRead = [
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_s0', name: 'Read', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_s0', content: 'x' }] },
    ];
    expect(claude(claudeRequest(afterRead), 1)).toEqual({ kind: 'stall' });
    const session = agents.allSessions()[0]!;
    expect(session).toMatchObject({ firstResults: 0, prompt: PROMPT });
    expect(session.turns.map((turn) => turn.answered)).toEqual(['read', 'stall']);
  });

  it('Codex reads through its shell, then the stand-in stalls', () => {
    const agents = new ScriptedAgents(() => SCRIPT_READ_STALL);
    const codex = scriptedCodex(agents);
    const request = (input: unknown[]): ResponsesRequest => ({
      prompt_cache_key: 'r2',
      tools: [{ type: 'function', name: 'exec_command' }],
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: PROMPT }] },
        ...(input as ResponsesRequest['input'] & object),
      ],
    });
    expect(codex(request([]), 0)).toMatchObject({
      name: 'exec_command',
      arguments: JSON.stringify({ cmd: 'cat -n "src/a.js"', tty: false, yield_time_ms: 10_000 }),
    });
    const afterRead = [
      { type: 'function_call', call_id: 'call_s0', name: 'exec_command' },
      { type: 'function_call_output', call_id: 'call_s0', output: 'Process exited with code 0\nOutput:\nx\n' },
    ];
    expect(codex(request(afterRead), 1)).toBe('stall');
  });
});
