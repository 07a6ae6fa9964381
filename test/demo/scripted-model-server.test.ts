/**
 * @module The demo's Messages API stand-in over real HTTP: an agent turn's answer carries the thinking, the text
 * before the tool call and the tool call as separate content blocks in the Messages API's SSE and JSON forms, with the
 * usage the script gives (the demo's recorded counts), the server's own usage for other requests, and the pause
 * `delayMs` asks for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/demo/scripted-model-server.js';

const USAGE = {
  input_tokens: 4100,
  output_tokens: 1150,
  cache_read_input_tokens: 31800,
  cache_creation_input_tokens: 0,
};
const NONE = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };

let server: ScriptedModelServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function post(body: Record<string, unknown>) {
  const response = await fetch(`${server!.baseUrl}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
  return response;
}

/** The SSE events of a streamed answer, parsed. */
async function streamed(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice(6)) as Record<string, unknown>);
}

describe('the demo stand-in of the Messages API (a script, never a model)', () => {
  it('answers an agent turn with thinking, a text and the tool call as blocks, reporting the scripted usage', async () => {
    server = await startScriptedModelServer(
      () => ({
        kind: 'tool_use',
        id: 'toolu_1',
        name: 'Bash',
        input: { command: 'node --test' },
        thinking: 'Run the tests first.',
        preface: 'I will run the tests.',
        usage: USAGE,
      }),
      { usage: NONE },
    );
    const json = (await (await post({ tools: [{ name: 'Bash' }] })).json()) as Record<string, unknown>;
    expect(json).toMatchObject({
      role: 'assistant',
      stop_reason: 'tool_use',
      usage: USAGE,
      content: [
        { type: 'thinking', thinking: 'Run the tests first.' },
        { type: 'text', text: 'I will run the tests.' },
        { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'node --test' } },
      ],
    });

    const events = await streamed(await post({ tools: [{ name: 'Bash' }], stream: true }));
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]).toMatchObject({ message: { usage: { input_tokens: 4100, cache_read_input_tokens: 31800 } } });
    expect(events[2]).toMatchObject({ delta: { type: 'thinking_delta', thinking: 'Run the tests first.' } });
    expect(events[9]).toMatchObject({
      index: 2,
      delta: { type: 'input_json_delta', partial_json: JSON.stringify({ command: 'node --test' }) },
    });
    expect(events[11]).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 1150 } });
  });

  it("answers other requests (no tools: the CLI's own) with a short text and the server's usage, at once", async () => {
    let turns = 0;
    server = await startScriptedModelServer(
      () => {
        turns += 1;
        return { kind: 'text', text: 'scripted' };
      },
      { usage: NONE, delayMs: 5_000 },
    );
    const started = Date.now();
    const json = (await (await post({})).json()) as Record<string, unknown>;
    expect(json).toMatchObject({ content: [{ type: 'text', text: 'ok' }], usage: NONE, stop_reason: 'end_turn' });
    expect(turns).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('pauses delayMs before answering an agent turn', async () => {
    server = await startScriptedModelServer(() => ({ kind: 'text', text: 'done' }), { delayMs: 300 });
    const started = Date.now();
    const json = (await (await post({ tools: [{ name: 'Bash' }] })).json()) as Record<string, unknown>;
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(json).toMatchObject({ content: [{ type: 'text', text: 'done' }], usage: { input_tokens: 100 } });
  });
});
