/**
 * @module A tiny OpenAI Responses API on 127.0.0.1 for driving the real Codex CLI offline (PROTOCOLS.md, "Driving the
 * real CLIs offline"): each POST /v1/responses is answered with SSE (response.created, one output item,
 * response.completed). A script picks the item from the number of tool outputs already in the request's `input`, or
 * answers `stall`: the request is never answered and stays open until the client goes away or the server closes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** The parts of a Responses request the script looks at. */
export interface ResponsesRequest {
  model?: string;
  input?: { type?: string; [key: string]: unknown }[];
  tools?: { type?: string; name?: string }[];
  [key: string]: unknown;
}

/** Picks the output item for a request; `step` is how many tool outputs the request already carries. */
export type ResponsesScript = (request: ResponsesRequest, step: number) => Record<string, unknown> | 'stall';

export interface MockResponsesServer {
  /** Base URL for a Codex model provider, e.g. http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  requests: ResponsesRequest[];
  close(): Promise<void>;
}

const TOOL_OUTPUT_TYPES = new Set(['function_call_output', 'custom_tool_call_output']);

export async function startMockResponsesServer(script: ResponsesScript): Promise<MockResponsesServer> {
  const requests: ResponsesRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/responses')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      let body: ResponsesRequest;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ResponsesRequest;
      } catch {
        res.writeHead(400);
        res.end();
        return;
      }
      requests.push(body);
      const step = (body.input ?? []).filter((item) => TOOL_OUTPUT_TYPES.has(String(item.type))).length;
      const item = script(body, step);
      if (item === 'stall') return;
      const id = `resp_${requests.length}`;
      const send = (event: Record<string, unknown>) =>
        res.write(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      send({ type: 'response.created', response: { id } });
      send({ type: 'response.output_item.done', output_index: 0, item });
      send({
        type: 'response.completed',
        response: {
          id,
          usage: {
            input_tokens: 1000,
            input_tokens_details: { cached_tokens: 200 },
            output_tokens: 50,
            output_tokens_details: { reasoning_tokens: 10 },
            total_tokens: 1050,
          },
        },
      });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An apply_patch call adding `file` with `lines`. */
export function applyPatchAddFile(callId: string, file: string, lines: readonly string[]): Record<string, unknown> {
  const body = lines.map((line) => `+${line}`).join('\n');
  return {
    type: 'custom_tool_call',
    id: `ctc_${callId}`,
    call_id: callId,
    name: 'apply_patch',
    input: `*** Begin Patch\n*** Add File: ${file}\n${body}\n*** End Patch\n`,
    status: 'completed',
  };
}

/** A call to whichever shell tool the request offers (exec_command, shell_command or shell). */
export function shellCall(request: ResponsesRequest, callId: string, command: string): Record<string, unknown> {
  const names = new Set((request.tools ?? []).map((tool) => tool.name));
  const [name, args] = names.has('exec_command')
    ? ['exec_command', { cmd: command, tty: false, yield_time_ms: 10_000 }]
    : names.has('shell_command')
      ? ['shell_command', { command }]
      : ['shell', { command: ['bash', '-lc', command] }];
  return {
    type: 'function_call',
    id: `fc_${callId}`,
    call_id: callId,
    name,
    arguments: JSON.stringify(args),
    status: 'completed',
  };
}

export function assistantMessage(text: string): Record<string, unknown> {
  return {
    type: 'message',
    id: 'msg_final',
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text, annotations: [] }],
  };
}
